"""``digest serve`` in worker mode: the same timers (APScheduler stays the one scheduler),
each queueing a job instead of running it; no job body runs in the service.

The jobs log themselves in ``job_runs`` when a worker runs them, so ``digest status``
shows the last runs as it does for one process.
"""

from __future__ import annotations

from datetime import datetime

from digest.jobs.context import Context
from digest.jobs.editions import current_slot
from digest.models import RunReport
from digest.scheduler import ServiceJobs
from digest.workers.app import make_app
from digest.workers.queue import JobQueue


class QueuedJobs(ServiceJobs):
    """``ServiceJobs`` whose bodies queue: a poll per source, the bounce mailbox and the
    housekeeping at ``feeds.every``, a digest's slot at its cron (and once when missed)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.app = make_app(ctx.db.url).open()
        self.queue = JobQueue(self.app, ctx.settings)

    def collect(self, source_id: str) -> RunReport:
        self.queue.poll(source_id)
        return RunReport()

    def housekeeping(self) -> RunReport:
        if self.ctx.settings.bounces is not None:
            self.queue.read_bounces()
        self.queue.housekeeping()
        return RunReport()

    def digest(self, digest_id: str, slot: datetime | None = None) -> RunReport:
        report = RunReport()
        digest = self.ctx.settings.digest(digest_id)
        slot = slot or (current_slot(self.ctx, digest) if digest is not None else None)
        if slot is not None:
            job = self.queue.edition(digest_id, slot)
            queued = f"queued as job {job}" if job is not None else "already queued"
            report.editions.append(f"{digest_id}: {queued} for {slot.isoformat()}")
        return report

    def close(self) -> None:
        self.app.close()
