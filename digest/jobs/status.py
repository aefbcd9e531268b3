"""What ``digest status`` shows, read from the store in one transaction: the items kept,
the sources' health, the jobs' last runs, and the recent editions with their deliveries.

Gathering is kept apart from printing so the command only formats, and so one consistent
snapshot is shown even while the service writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from digest.config.workers import STALLED_AFTER
from digest.jobs.context import Context
from digest.store import (
    bounce_reports,
    deliveries,
    editions,
    erasure,
    items,
    job_queue,
    runs,
    sources,
)
from digest.store.deliveries import FailedRow
from digest.store.editions import EditionRow, Problems
from digest.store.sources import SourceHealth


@dataclass(frozen=True)
class EditionState:
    """One recent edition with its delivery counts by state (members erased since counted
    too, ``store.erasure``), its refused messages, what kept it from rendering, and when
    and why its deferred messages are tried again."""

    row: EditionRow
    counts: dict[str, int]
    failed: list[FailedRow]
    problems: Problems
    retry_at: datetime | None
    deferral: tuple[int, str] | None  # how many pending rows were put off, the last why


@dataclass(frozen=True)
class StoreStatus:
    """Everything ``digest status`` prints that the store knows."""

    items_stored: int
    health: list[SourceHealth]
    last_runs: dict[str, list[runs.JobRun]]
    editions: list[EditionState]
    bounces: dict[str, int]  # stored reports by kind (hard, soft, complaint, unmatched)
    members_bounced: int
    queue: job_queue.QueueState | None = None  # worker mode on PostgreSQL: procrastinate's


def store_status(ctx: Context) -> StoreStatus:
    """The store's state now, read in one transaction."""
    now = ctx.clock.now()
    with ctx.db.transaction() as connection:
        recent = [EditionState(row=row, counts=erasure.with_erased(
                                   deliveries.counts(connection, row.id),
                                   erasure.erased_counts(connection, row.id)),
                               failed=deliveries.failures(connection, row.id),
                               problems=editions.problems(connection, row.id),
                               retry_at=deliveries.next_attempt(connection, row.id, now),
                               deferral=deliveries.deferral(connection, row.id))
                  for row in editions.recent(connection)]
        return StoreStatus(items_stored=items.count_items(connection),
                           health=sources.health(connection),
                           last_runs=runs.last_runs(connection), editions=recent,
                           bounces=bounce_reports.counts(connection),
                           members_bounced=bounce_reports.members_bounced(connection),
                           queue=job_queue.queue_state(connection, STALLED_AFTER)
                           if ctx.settings.workers.enabled and job_queue.has_queue(connection)
                           else None)
