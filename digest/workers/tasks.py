"""The tasks' bodies: each a short call into ``digest.jobs``, as the service's are.

A worker hands its ``Context`` and ``JobQueue`` to every job (procrastinate's additional
context); each job works on a copy of the context whose ``dispatch_outbox`` queues the
edition's send jobs under the job's own ``run`` tag, logs itself in ``job_runs`` under the
service's job names (so ``digest status`` shows the last runs either way), and keeps its
report in ``job_reports`` for ``run --once --wait``. An exception fails the job, and
procrastinate tries it again (``app.MAX_RETRIES``); a failure that the report already
holds (a source down) does not: the next poll is the retry. Arguments are checked first
(a job outlives the config that queued it, and anyone who can write the queue can queue
anything): a source or digest no longer in the config, or an argument of the wrong kind,
is an ``InputError`` before anything runs or is logged in ``job_runs`` (a poll of a source
the config lacks must not poll every source, nor record a run under a forged name).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from digest.errors import InputError
from digest.jobs.context import Context
from digest.models import RunReport
from digest.store import job_queue, runs
from digest.workers.app import (
    CONTEXT_KEY,
    HOUSEKEEPING,
    MAKE_EDITION,
    POLL_SOURCE,
    PUBLISH_FEEDS,
    QUEUE_KEY,
    READ_BOUNCES,
    SEND_OUTBOX,
)
from digest.workers.queue import JobQueue
from digest.workers.reports import report_json

if TYPE_CHECKING:
    from procrastinate import JobContext

    from digest.jobs.outbox import SendOutcome

# The jobs' own modules (collecting, rendering, sending) are imported by the task that
# uses them: a worker waiting for jobs has loaded none of them.


class _Job:
    """One running job: its context, queue, report and ``run`` tag."""

    def __init__(self, job: JobContext) -> None:
        base: Context = job.additional_context[CONTEXT_KEY]
        self.queue: JobQueue = job.additional_context[QUEUE_KEY]
        self.id = int(job.job.id or 0)
        self.task = job.job.task_name
        tag = job.job.task_kwargs.get("run")
        self.run = tag if isinstance(tag, str) else None
        self.ctx = copy.copy(base)  # shares the store, secret and stop signal
        self.ctx.dispatch_outbox = lambda row: self._dispatch(row.id)
        self.report = RunReport()
        self.outcome: tuple[str, SendOutcome] | None = None

    def _dispatch(self, edition_id: int) -> None:
        self.queue.sends(edition_id, self.run)

    def keep_report(self) -> None:
        with self.ctx.db.transaction() as connection:
            job_queue.record_report(connection, self.id, self.run, self.task,
                                    self.ctx.clock.now(), report_json(self.report, self.outcome))


@contextmanager
def _running(job: JobContext, logged_as: str | None = None) -> Iterator[_Job]:
    """The job's context; logged in ``job_runs`` as ``logged_as`` (a service job's name)
    when given, and its report kept when it ends without an exception."""
    current = _Job(job)
    ctx = current.ctx
    run_id = None
    if logged_as is not None:
        with ctx.db.transaction() as connection:
            run_id = runs.start(connection, logged_as, ctx.clock.now())
    try:
        yield current
    except Exception as exc:
        if run_id is not None:
            with ctx.db.transaction() as connection:
                runs.finish(connection, run_id, ctx.clock.now(), runs.FAILED,
                            f"{exc.__class__.__name__}: {exc}")
        raise
    report = current.report
    if run_id is not None:
        detail = "; ".join(report.failures + [f"{s.source_id}: {s.error}"
                                              for s in report.sources if s.error])
        with ctx.db.transaction() as connection:
            runs.finish(connection, run_id, ctx.clock.now(),
                        runs.FAILED if report.failed else runs.OK, detail or None)
    current.keep_report()


def poll_source(job: JobContext, source_id: str, run: str | None = None) -> None:
    """Poll one source; in the service, new items queue a publish of the feeds."""
    from digest.jobs.collect import collect
    from digest.scheduler import JobId

    base: Context = job.additional_context[CONTEXT_KEY]
    if not isinstance(source_id, str) or all(s.id != source_id for s in base.settings.sources):
        raise InputError(f"source {source_id!r} is not in the config (removed since the job "
                         "was queued?): not polled")
    with _running(job, str(JobId.collect(source_id))) as current:
        collect(current.ctx, current.report, only=source_id)
    if run is None and any(s.new or s.updated for s in current.report.sources):
        current.queue.publish_feeds()


def make_edition(job: JobContext, digest_id: str, slot: str, run: str | None = None) -> None:
    """Compose, render, freeze, plan and publish a slot's edition, then queue its send
    jobs (``Context.dispatch_outbox``) instead of sending."""
    from digest.jobs.collect import ensure_subscribers
    from digest.jobs.editions import run_digest
    from digest.scheduler import JobId

    base: Context = job.additional_context[CONTEXT_KEY]
    digest = base.settings.digest(digest_id) if isinstance(digest_id, str) else None
    if digest is None:
        raise InputError(f"digest {digest_id!r} is not in the config (removed since the job "
                         "was queued?): no edition made")
    when = _slot(slot)
    with _running(job, str(JobId.digest(digest_id))) as current:
        ctx = current.ctx
        ensure_subscribers(ctx, current.report)
        with ctx.open_transport() as transport:  # a draft's previews to its coordinators
            run_digest(ctx, digest, current.report, transport, when)


def _slot(text: object) -> datetime:
    """A job's slot argument: an ISO 8601 time with its offset (``queue.slot_text``)."""
    try:
        when = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        when = None
    if when is None or when.utcoffset() is None:
        raise InputError(f"slot {text!r} is not an ISO 8601 time with its offset")
    return when


def send_outbox(job: JobContext, edition_id: int, part: int = 0, run: str | None = None
                ) -> None:
    """Claim and send at most ``workers.batch`` due rows of one edition, then queue this
    part again while due rows remain (or when a SIGTERM cut the pass short)."""
    from digest.jobs.delivery import SENDABLE
    from digest.jobs.outbox import send_pending
    from digest.jobs.send_outcome import MissingVariantError
    from digest.store import deliveries, editions
    from digest.workers.rendering import forget, forget_here, kept_here, variants_for

    if type(edition_id) is not int or type(part) is not int:
        raise InputError(f"send job for edition {edition_id!r}, part {part!r}: "
                         "expected whole numbers")
    with _running(job) as current:
        ctx = current.ctx
        with ctx.db.transaction() as connection:
            row = editions.by_label(connection, str(edition_id))
        if row is None:
            raise InputError(f"edition {edition_id} is not in the store")
        if row.status not in SENDABLE:
            return  # sent, paused or cancelled meanwhile: nothing to do
        unchecked = kept_here(row.id)  # variants an earlier job here checked
        rendered = variants_for(ctx, row, current.report)
        with ctx.open_transport() as transport:
            try:
                outcome = send_pending(ctx, row, rendered, transport,
                                       limit=ctx.settings.workers.batch)
            except MissingVariantError as missing:
                forget_here(row.id)  # the next job checks them against the rows, renders
                if not unchecked:  # checked by this very job: a bug, the job fails
                    raise
                outcome = missing.outcome  # stale here (retried rows): counted, and
                # queued again below unless a pause or a session failure ended the batch
        now = ctx.clock.now()
        with ctx.db.transaction() as connection:
            due = deliveries.any_due(connection, row.id, now)
            sent = editions.status_of(connection, row.id) == editions.SENT
        if sent:
            forget(ctx, row.id)
        cut_short = ctx.stop.is_set() and outcome.stopped is not None and not outcome.held
        if due and not outcome.held and (cut_short or not outcome.stopped):
            outcome.stopped = None  # another worker goes on: not a problem of this run
            current.queue.send(edition_id, part, run)
        current.outcome = (row.label, outcome)


def housekeeping(job: JobContext, run: str | None = None) -> None:
    """Bulletins, unfinished editions (their send jobs queued), due bulletins, the feeds;
    the bounce mailbox is read by its own job, queued before this one."""
    from digest.jobs.collect import ensure_subscribers
    from digest.jobs.run import housekeeping as steps
    from digest.scheduler import JobId

    with _running(job, str(JobId.housekeeping())) as current:
        ensure_subscribers(current.ctx, current.report)
        with current.ctx.open_transport() as transport:
            steps(current.ctx, current.report, transport, bounces=False)


def publish_feeds(job: JobContext, run: str | None = None) -> None:
    """The theme feeds, with the bulletins published so far (after polls that brought
    new items, between two housekeeping runs)."""
    from digest.jobs.bulletins import render_and_write_all
    from digest.jobs.feeds import publish

    with _running(job) as current:
        ctx = current.ctx
        rendered = render_and_write_all(ctx, RunReport(), ctx.settings.out_dir)
        publish(ctx, current.report, rendered)


def read_bounces(job: JobContext, run: str | None = None) -> None:
    """The bounce mailbox, read before the housekeeping that resumes sends."""
    from digest.jobs.bounces import read_for_run
    from digest.jobs.isolation import isolated

    with _running(job) as current:
        isolated(current.report, "bounces", partial(read_for_run, current.ctx,
                                                     current.report))


BODIES: dict[str, Callable[..., Any]] = {
    POLL_SOURCE: poll_source, MAKE_EDITION: make_edition, SEND_OUTBOX: send_outbox,
    HOUSEKEEPING: housekeeping, PUBLISH_FEEDS: publish_feeds, READ_BOUNCES: read_bounces}
