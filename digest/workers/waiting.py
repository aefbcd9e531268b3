"""``digest run --once`` in worker mode: the run's jobs queued, and with ``--wait`` waited
for in the order one process runs them (the polls, the bounce mailbox, the housekeeping,
then the editions with their send jobs), their reports read back and merged into the one
summary, and exit code, a run in one process gives.

"Messages sent" is what the outbox recorded between the start and the end of the wait
(``store.sent_tally``), not the send jobs' sum: a worker killed or frozen in a job never
reports what it sent before.

Each job carries the run's tag (its ``run`` argument) and passes it to the jobs it queues
itself (an edition's send jobs, a send job's continuation), so the run waits for all of
them and for no other.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from digest.jobs.collect import ensure_subscribers
from digest.jobs.context import Context
from digest.jobs.delivery import count_outcome
from digest.jobs.editions import current_slot
from digest.jobs.outbox import SendOutcome
from digest.models import RunReport
from digest.safetext import safe_line
from digest.store import job_queue, sent_tally
from digest.workers.app import make_app, queue_errors
from digest.workers.queue import JobQueue
from digest.workers.reports import add_outcome, merge, read_stored

POLL_EVERY = 0.2  # seconds between two looks at the run's jobs
QUIET_NOTICE = 30.0  # seconds of waiting before saying that no worker may be running


def run_queued(ctx: Context, wait: bool, timeout: float | None = None,
               progress: TextIO = sys.stderr) -> RunReport:
    """Queue the main job's jobs; with ``wait``, their merged report once all are done, or
    once ``timeout`` seconds passed (the jobs left are named: a cron line never hangs)."""
    report = RunReport()
    ensure_subscribers(ctx, report)
    run = secrets.token_hex(8)
    with ctx.db.transaction() as connection:
        before = sent_tally.take(connection) if wait else None
    with queue_errors("run --once", ctx.db.shown):
        queued = _queue(ctx, run, wait, progress,
                        None if timeout is None else time.monotonic() + timeout)
    if before is None:
        report.notes.append(f"queued {queued} jobs (run {run}) for `digest worker`; "
                            "`digest status` shows the queue")
        return report
    _merge_run(ctx, run, before, report, "stopped waiting (SIGTERM)" if ctx.stop.is_set()
               else f"not done within --timeout {timeout:g} s" if timeout is not None
               else "stopped waiting")
    if ctx.settings.delivery.transport == "file":
        report.output("outbox", str(ctx.settings.out_dir / "outbox"))
    return report


def _queue(ctx: Context, run: str, wait: bool, progress: TextIO,
           deadline: float | None) -> int:
    """Queue the run's jobs stage by stage (with ``wait``, each stage once the one before
    is done); how many were queued."""
    app = make_app(ctx.db.url).open()
    try:
        queue = JobQueue(app, ctx.settings)
        stages: list[Callable[[], list[int | None]]] = [
            lambda: [queue.poll(source.id, run) for source in ctx.settings.sources],
            lambda: [queue.read_bounces(run)] if ctx.settings.bounces is not None else [],
            lambda: [queue.housekeeping(run)],
            lambda: [queue.edition(digest.id, slot, run) for digest in ctx.settings.digests
                     if (slot := current_slot(ctx, digest)) is not None]]
        queued = 0
        for stage in stages:
            queued += len(stage())
            if wait and not _wait_for(ctx, run, progress, deadline):
                break
    finally:
        app.close()
    return queued


def _wait_for(ctx: Context, run: str, progress: TextIO, deadline: float | None) -> bool:
    """Wait until none of the run's jobs is queued or running (False: stopped, or the
    deadline passed, first)."""
    started = time.monotonic()
    noticed = False
    while True:
        with ctx.db.transaction() as connection:
            left = job_queue.unfinished_of_run(connection, run)
        if not left:
            return True
        if not noticed and time.monotonic() - started > QUIET_NOTICE:
            print(f"digest: still waiting for {left} jobs of run {run}: is a `digest "
                  "worker` running? (`digest status` shows the queue)", file=progress,
                  flush=True)
            noticed = True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        if ctx.stop.wait(POLL_EVERY):
            return False


def _merge_run(ctx: Context, run: str, before: sent_tally.SentTally, report: RunReport,
               why_unfinished: str) -> None:
    """The run's job reports in the order they were queued; an edition's send jobs summed
    into one pass (``count_outcome``) whose messages sent are the outbox's, jobs that
    failed for good named."""
    with ctx.db.transaction() as connection:
        jobs = job_queue.jobs_of_run(connection, run)
        sent = sent_tally.sent_since(connection, before)
    sends: dict[str, SendOutcome] = {}
    for job in jobs:
        job = replace(job, task=safe_line(job.task))  # as written to the queue: one line
        if job.status in job_queue.UNFINISHED:
            report.failures.append(f"job {job.id} ({job.task}) not finished: "
                                   f"{why_unfinished}; it runs all the same")
            continue
        if job.status != "succeeded":
            report.failures.append(f"job {job.id} ({job.task}) {job.status} after its "
                                   "retries (digest status)")
            continue
        try:
            part, found = read_stored(job.report)
        except ValueError as exc:
            report.failures.append(f"job {job.id} ({job.task}): its report in job_reports "
                                   f"cannot be read ({exc}); left out of this summary")
            continue
        if found is not None:
            add_outcome(sends.setdefault(found[0], SendOutcome()), found[1])
        merge(report, part)
    for label in sent:
        sends.setdefault(label, SendOutcome())  # sent by a job that never reported
    for label, outcome in sends.items():
        outcome.sent = sent.get(label, 0)
        count_outcome(label, outcome, report)
