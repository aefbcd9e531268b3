"""The collect job: poll the sources and store what came, and the members' first import.

A failing source is reported in the run's report while the others go on; each poll's
items, health and state are stored together, so the next poll starts from what this one
saw. Polls are stored ``GROUP`` at a time in one transaction: a commit waits for the disk
(SQLite syncs each one), and a hundred of them cost more than storing the items did.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice

from sqlalchemy import Connection

from digest.errors import InputError
from digest.jobs.context import Context
from digest.models import RunReport, SourceReport
from digest.sources import Poll, poll_sources
from digest.store import editions, items, sources, subscribers

GROUP = 10
"""Polls stored in one transaction (each with its items, health and state)."""


def collect(ctx: Context, report: RunReport, only: str | None = None) -> None:
    """Poll every source (or the one with id ``only``) once, concurrently; each result is
    stored with the state its next poll needs, and a failing source is reported while the
    others go on."""
    chosen = [s for s in ctx.settings.sources if only is None or s.id == only]
    with ctx.db.transaction() as connection:
        states = sources.states(connection)
    for group in _groups(poll_sources(chosen, ctx.settings, ctx.clock, states)):
        with ctx.db.transaction() as connection:
            now = ctx.clock.now()
            stamp = first_seen_stamp(connection, now)
            for poll in group:
                _store_poll(connection, poll, now, stamp, report)


def first_seen_stamp(connection: Connection, now: datetime) -> datetime:
    """When items stored now are first seen: ``now``, unless an edition's period already
    ends at or after it (the clock was stepped back by NTP or by hand, or another machine's
    clock runs ahead), then just after that end. An item stamped behind an edition's cursor
    would never be in any edition; stamped after it, it is in the next one once the clock
    reaches its stamp (``compose.is_new`` waits for ``first_seen <= now``)."""
    latest = editions.latest_period_end(connection)
    if latest is None or now > latest:
        return now
    return latest + timedelta(microseconds=1)


def _groups(polls: Iterable[Poll]) -> Iterator[list[Poll]]:
    """The polls in order, ``GROUP`` at a time (the last group may be smaller)."""
    iterator = iter(polls)
    while group := list(islice(iterator, GROUP)):
        yield group


def collect_only(ctx: Context) -> RunReport:
    """``digest collect``: one poll of every source, nothing published or sent."""
    report = RunReport()
    collect(ctx, report)
    return report


def _store_poll(connection: Connection, poll: Poll, now: datetime, stamp: datetime,
                report: RunReport) -> None:
    """Store one source's items (new ones first seen at ``stamp``), health and state in the
    transaction; report them."""
    counts = {"new": 0, "updated": 0, "duplicate": 0}
    for outcome in items.upsert_items(connection, poll.items or (), stamp):
        counts[outcome] += 1
    if not poll.skipped:
        sources.record(connection, poll.source_id, poll.state.location, now, poll.error,
                       None if poll.items is None else len(poll.items))
    sources.save_state(connection, poll.source_id, poll.state, now)
    report.sources.append(SourceReport(poll.source_id, new=counts["new"],
                                       updated=counts["updated"],
                                       duplicate=counts["duplicate"], error=poll.error,
                                       note=poll.note))
    report.failures.extend(poll.problems)


def ensure_subscribers(ctx: Context, report: RunReport) -> None:
    """Load the configured CSV when the store has no member yet. Bad rows are reported and
    the rest imported; a file that cannot be used at all is reported and the run goes on.
    Two runs starting together on an empty store may both import: adding is idempotent."""
    path = ctx.settings.subscribers.import_
    if not path:
        return
    try:
        with ctx.db.transaction() as connection:
            if subscribers.count(connection):
                return
            result = subscribers.import_csv(
                connection, ctx.settings.resolve(path), ctx.clock.now(),
                ctx.settings.site.language, [d.id for d in ctx.settings.digests],
                ctx.settings.themes)
    except InputError as exc:
        report.failures.append(f"subscribers.import: {exc}")
        return
    report.failures.extend(result.problems)
