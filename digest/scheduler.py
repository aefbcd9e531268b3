"""APScheduler wiring from ``schedules.yaml``: which job runs when; the work is ``digest.jobs``'s.

Jobs: ``collect:<source>`` every source's ``every``; ``housekeeping`` at ``feeds.every``
(resume unfinished sends, due bulletins, feeds); ``digest:<id>`` at each digest's cron in
``site.timezone`` (cron weekdays translated in ``digest.cron``).

The store, not APScheduler's job store, is the memory of the service: jobs are rebuilt from
the config at every start (so they are always in line with it), and what a missed slot
needs is read from the editions table: on start, a digest whose last slot has no edition is
made once when the slot is within the digest's ``grace`` (default 6 h) (and, while running,
a slot its timer let pass: ``overdue``), and recorded as
missed otherwise. An edition is unique per (digest, slot), so a restart, a second process
or a manual run cannot make a second one. Every run is logged in ``job_runs``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, TextIO

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest.config import DigestSettings, Settings
from digest.cron import last_slot, make_trigger, next_slot
from digest.dates import console_stamp
from digest.errors import DigestError
from digest.jobs.context import Context
from digest.models import RunReport
from digest.store import editions, runs
from digest.store.locks import SchedulerLock

if TYPE_CHECKING:  # the jobs' bodies and APScheduler's loop load when a job or serve runs:
    # `digest status` reads the schedule from here without them (docs/benchmarks.md)
    from apscheduler.schedulers.background import BackgroundScheduler

    from digest.mail.transports import Transport

log = logging.getLogger("digest.scheduler")


class JobKind(StrEnum):
    """What a scheduled job does; the first part of its id."""

    COLLECT = "collect"
    HOUSEKEEPING = "housekeeping"
    DIGEST = "digest"


_TARGET_MARK = ":"
# How late APScheduler still runs a job whose time passed (the machine asleep, the pool
# busy); a digest slot its timer let pass is then made by ``ServiceJobs.overdue``.
MISFIRE = timedelta(minutes=5)


@dataclass(frozen=True)
class JobId:
    """A scheduled job's name in APScheduler and in ``job_runs`` (so it never changes):
    ``collect:<source>``, ``housekeeping``, ``digest:<id>``; built and parsed here only."""

    kind: JobKind
    target: str | None = None  # the source's or digest's id

    @classmethod
    def collect(cls, source_id: str) -> JobId:
        """The job polling one source."""
        return cls(JobKind.COLLECT, source_id)

    @classmethod
    def housekeeping(cls) -> JobId:
        """The one job for bulletins, unfinished sends and feeds."""
        return cls(JobKind.HOUSEKEEPING)

    @classmethod
    def digest(cls, digest_id: str) -> JobId:
        """The job making one digest's editions."""
        return cls(JobKind.DIGEST, digest_id)

    @classmethod
    def parse(cls, text: str) -> JobId:
        """The job a stored name names (the inverse of ``str()``); ``ValueError`` when none."""
        kind, mark, target = text.partition(_TARGET_MARK)
        return cls(JobKind(kind), target if mark else None)

    def __str__(self) -> str:
        return self.kind.value if self.target is None else \
            f"{self.kind.value}{_TARGET_MARK}{self.target}"


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: its id (also its name in ``job_runs``), when, and what."""

    id: str
    trigger: BaseTrigger
    run: Callable[[], None]


class ServiceJobs:
    """The bodies of the scheduled jobs: each a short call into ``digest.jobs``, logged."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # One job at a time touches the outbox: sends of two jobs never interleave.
        self._outbox = threading.Lock()

    def _logged(self, job_id: str, body: Callable[[RunReport], None]) -> RunReport:
        report = RunReport()
        with self.ctx.db.transaction() as connection:
            run_id = runs.start(connection, job_id, self.ctx.clock.now())
        outcome, detail = runs.OK, None
        try:
            body(report)
        except DigestError as exc:
            outcome, detail = runs.FAILED, str(exc)
        except Exception as exc:  # a job must never kill the scheduler thread
            log.exception("job %s crashed", job_id)
            outcome, detail = runs.FAILED, f"{exc.__class__.__name__}: {exc}"
        if outcome == runs.OK and report.failed:
            outcome = runs.FAILED
            detail = "; ".join(report.failures + [f"{s.source_id}: {s.error}"
                                                  for s in report.sources if s.error])
        with self.ctx.db.transaction() as connection:
            runs.finish(connection, run_id, self.ctx.clock.now(), outcome, detail)
        return report

    def _sending(self, job_id: str, step: Callable[[RunReport, Transport], None]) -> RunReport:
        """A job that sends: members imported if need be, then ``step`` with the transport,
        one such job at a time."""
        from digest.jobs.collect import ensure_subscribers

        def body(report: RunReport) -> None:
            ensure_subscribers(self.ctx, report)
            with self._outbox, self.ctx.open_transport() as transport:
                step(report, transport)
        return self._logged(job_id, body)

    def collect(self, source_id: str) -> RunReport:
        """Poll one source, at its ``every``."""
        from digest.jobs.collect import collect

        return self._logged(str(JobId.collect(source_id)),
                            lambda report: collect(self.ctx, report, only=source_id))

    def housekeeping(self) -> RunReport:
        """Bulletins, unfinished sends and feeds, at ``feeds.every``."""
        from digest.jobs.run import housekeeping

        return self._sending(str(JobId.housekeeping()), partial(housekeeping, self.ctx))

    def digest(self, digest_id: str, slot: datetime | None = None) -> RunReport:
        """Make (and send) the edition of ``slot``, by default the slot that just fired."""
        from digest.jobs.editions import run_digest

        digest = self.ctx.settings.digest(digest_id)
        assert digest is not None, digest_id
        return self._sending(str(JobId.digest(digest_id)), lambda report, transport: run_digest(
            self.ctx, digest, report, transport, slot))

    def _unmade(self, now: datetime) -> list[tuple[DigestSettings, datetime]]:
        """Each digest whose latest slot at ``now`` has no edition, with that slot."""
        found = []
        for digest in self.ctx.settings.digests:
            slot = last_slot(make_trigger(digest.cron, self.ctx.settings.site.zone), now)
            if slot is None:
                continue
            with self.ctx.db.transaction() as connection:
                if editions.find(connection, digest.id, slot) is None:
                    found.append((digest, slot))
        return found

    def overdue(self) -> list[str]:
        """While running: make each digest's latest slot that its timer let pass (the
        previous edition still sending when it came, the machine asleep or the job queue
        full beyond APScheduler's ``misfire_grace_time``), once, when within the grace.
        Run after each housekeeping; a slot younger than ``MISFIRE`` is its timer's."""
        done: list[str] = []
        now = self.ctx.clock.now()
        for digest, slot in self._unmade(now):
            if MISFIRE < now - slot <= digest.grace:
                report = self.digest(digest.id, slot)
                made_what = "; ".join(report.editions) or "nothing made"
                done.append(f"{JobId.digest(digest.id)} made late for {slot.isoformat()}: "
                            f"{made_what}")
        return done

    def catch_up(self) -> list[str]:
        """After downtime: make each digest's missed slot once when within its grace."""
        done: list[str] = []
        now = self.ctx.clock.now()
        for digest, slot in self._unmade(now):
            job_id = str(JobId.digest(digest.id))
            if now - slot <= digest.grace:
                report = self.digest(digest.id, slot)
                made_what = "; ".join(report.editions) or "nothing made"
                done.append(f"{job_id} made late for {slot.isoformat()}: {made_what}")
            else:
                with self.ctx.db.transaction() as connection:
                    runs.record(connection, job_id, now, runs.MISSED,
                                f"slot {slot.isoformat()} passed {now - slot} ago, beyond "
                                f"the grace of {digest.grace}")
                done.append(f"{job_id} missed {slot.isoformat()}")
        return done

    def close(self) -> None:
        """Nothing to release: the jobs ran here (``workers.service.QueuedJobs`` closes
        its queue)."""


def job_specs(settings: Settings, jobs: ServiceJobs) -> list[JobSpec]:
    """Every job the config asks for, with its trigger in the site's time zone."""
    zone = settings.site.zone
    specs = [JobSpec(str(JobId.collect(source.id)),
                     IntervalTrigger(seconds=source.every.total_seconds(), timezone=zone),
                     partial(_discard, jobs.collect, source.id))
             for source in settings.sources]
    specs.append(JobSpec(str(JobId.housekeeping()),
                         IntervalTrigger(seconds=settings.feeds.every.total_seconds(),
                                         timezone=zone),
                         partial(_housekeeping, jobs)))
    specs += [JobSpec(str(JobId.digest(digest.id)), make_trigger(digest.cron, zone),
                      partial(_discard, jobs.digest, digest.id))
              for digest in settings.digests]
    return specs


def _housekeeping(jobs: ServiceJobs) -> None:
    """The housekeeping timer: housekeeping, then the slots the digests' timers let pass."""
    jobs.housekeeping()
    for line in jobs.overdue():
        log.warning("%s", line)


def _discard(job: Callable[..., RunReport], *args: str) -> None:
    """Run a job for APScheduler, which ignores results: ours is logged in ``job_runs``."""
    job(*args)


def next_digest_runs(settings: Settings, now: datetime) -> list[tuple[DigestSettings, datetime]]:
    """When each digest runs next, in site time (for ``digest status``)."""
    found = []
    for digest in settings.digests:
        upcoming = next_slot(make_trigger(digest.cron, settings.site.zone), now)
        if upcoming is not None:
            found.append((digest, upcoming.astimezone(settings.site.zone)))
    return found


def next_interval_run(last: datetime | None, every: timedelta, now: datetime) -> datetime:
    """When an interval job runs next: ``every`` after its last run, or at once."""
    return max(last + every, now) if last else now


@dataclass(frozen=True)
class JobOutlook:
    """A job as ``digest status`` shows it: when it runs next, how it last went."""

    id: str
    next_run: datetime | None
    last: runs.JobRun | None


def outlook(settings: Settings, now: datetime,
            last_runs: dict[str, list[runs.JobRun]]) -> list[JobOutlook]:
    """Every configured job with its next run (site time) and its latest logged run."""
    zone = settings.site.zone

    def last(job: JobId) -> runs.JobRun | None:
        found = last_runs.get(str(job))
        return found[0] if found else None

    def every(job: JobId, interval: timedelta) -> JobOutlook:
        previous = last(job)
        next_run = next_interval_run(previous.started_at if previous else None, interval, now)
        return JobOutlook(str(job), next_run.astimezone(zone), previous)

    rows = [every(JobId.collect(s.id), s.every) for s in settings.sources]
    rows.append(every(JobId.housekeeping(), settings.feeds.every))
    upcoming = dict((d.id, when) for d, when in next_digest_runs(settings, now))
    rows += [JobOutlook(str(JobId.digest(d.id)), upcoming.get(d.id), last(JobId.digest(d.id)))
             for d in settings.digests]
    return rows


class Service:
    """The scheduler half of ``digest serve``: lock, catch up, then run jobs until stopped."""

    def __init__(self, ctx: Context, out: TextIO | None = None) -> None:
        self.ctx = ctx
        self.out = out
        self.jobs = ServiceJobs(ctx)
        if ctx.settings.workers.enabled:  # the timers queue jobs for `digest worker`
            from digest.workers.service import QueuedJobs

            self.jobs = QueuedJobs(ctx)
        self.lock = SchedulerLock(ctx.db, ctx.settings.var_dir)
        self.scheduler: BackgroundScheduler | None = None

    def start(self) -> None:
        """Take the lock (or refuse at once), catch up on missed slots, start the timers."""
        from apscheduler.schedulers.background import BackgroundScheduler

        from digest.jobs.collect import ensure_subscribers

        self.lock.acquire()
        try:
            ensure_subscribers(self.ctx, RunReport())
            # Poll first, so that a slot made late carries what arrived while we were down.
            for source in self.ctx.settings.sources:
                self.jobs.collect(source.id)
            for line in self.jobs.catch_up():
                self._say(f"catch-up: {line}")
            scheduler = BackgroundScheduler(
                timezone=self.ctx.settings.site.zone,
                job_defaults={"coalesce": True, "max_instances": 1,
                              "misfire_grace_time": int(MISFIRE.total_seconds())})
            for spec in job_specs(self.ctx.settings, self.jobs):
                scheduler.add_job(spec.run, spec.trigger, id=spec.id, name=spec.id,
                                  replace_existing=True)
            scheduler.start()
            self.scheduler = scheduler
        except BaseException:
            self.lock.release()
            raise
        for digest, when in next_digest_runs(self.ctx.settings, self.ctx.clock.now()):
            self._say(f"next {digest.id}: {console_stamp(when, weekday=True)} "
                      f"({self.ctx.settings.site.timezone})")

    def stop(self) -> None:
        """Let running jobs finish the message in flight, leave the rest pending, unlock."""
        self.ctx.stop.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        self.jobs.close()
        self.lock.release()

    def _say(self, line: str) -> None:
        if self.out is not None:
            print(f"digest: {line}", file=self.out, flush=True)
