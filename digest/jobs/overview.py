"""What the console's overview (``/admin/``) shows, gathered in one place and one read of
the store: each digest's draft, the bulletins in the folder and their state, the editions
being sent with their delivery counts, the sources (failing ones first), the latest
coordinator actions.

Gathering is kept apart from the page, as ``status`` is from ``digest status``, so the
page only formats and its live refresh reads the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection

from digest.bulletins import load_bulletins
from digest.errors import InputError
from digest.jobs.bulletin_state import BulletinState, BulletinStatus
from digest.jobs.context import Context
from digest.jobs.review import bulletin_states
from digest.models import Bulletin, EditionStatus, RunReport
from digest.store import audit, bounce_reports, deliveries, editions, erasure, sources
from digest.store.audit import AuditEntry
from digest.store.editions import EditionRow
from digest.store.sources import SourceHealth

ACTIONS_SHOWN = 20
WHY_LINES = 3  # a held bulletin's first lint errors shown; its page lists them all


@dataclass(frozen=True)
class BulletinLine:
    """A bulletin of the folder: its state (``jobs.bulletin_state``: draft, held,
    rejected, scheduled, due, sent, cancelled), when it is to go, and why it waits: its
    lint errors' count and the first of them (``FILE:LINE: message``), or the note of
    the rejection."""

    slug: str
    title: str
    state: str
    send_at: datetime | None
    errors: int = 0
    why: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sending:
    """An edition on its way: its rows by state (``deferred``: pending, waiting for the
    back-off after a temporary failure)."""

    row: EditionRow
    sent: int
    pending: int
    deferred: int
    failed: int


@dataclass(frozen=True)
class Overview:
    drafts: dict[str, EditionRow]  # digest id -> its draft waiting for approval
    bulletins: list[BulletinLine]
    sending: list[Sending]
    sources: list[SourceHealth]  # failing first, the longest failing first
    actions: list[AuditEntry]
    problems: list[str]  # bulletin files that could not be read
    bounces: dict[str, int]  # stored bounce reports by kind (docs/bounces.md)
    members_bounced: int


def overview(ctx: Context) -> Overview:
    """The overview's data now."""
    now = ctx.clock.now()
    lines, problems = bulletin_lines(ctx)
    with ctx.db.transaction() as connection:
        drafts: dict[str, EditionRow] = {}
        for digest in ctx.settings.digests:
            latest = editions.latest(connection, digest.id)
            if latest is not None and latest.status is EditionStatus.DRAFT:
                drafts[digest.id] = latest
        sending = [_sending(connection, row, now) for row in editions.unfinished(connection)]
        health = sorted(sources.health(connection),
                        key=lambda s: (-s.consecutive_failures, s.id))
        actions = audit.latest(connection, ACTIONS_SHOWN)
        bounces = bounce_reports.counts(connection)
        bounced = bounce_reports.members_bounced(connection)
    return Overview(drafts=drafts, bulletins=lines, sending=sending, sources=health,
                    actions=actions, problems=problems, bounces=bounces,
                    members_bounced=bounced)


def bulletin_lines(ctx: Context) -> tuple[list[BulletinLine], list[str]]:
    """Every bulletin of the folder with its state and why it waits, and the files that
    could not be read (the overview and the console's list of bulletins)."""
    folder, problems = _folder(ctx)
    found = RunReport()
    states = {status.slug: status for status in bulletin_states(ctx, found)}
    problems += [line for line in found.failures if line not in problems]
    lines = []
    for bulletin in folder:
        status = states.get(bulletin.slug)  # None: it cannot be rendered (a problem)
        lines.append(_line(bulletin, status))
    return lines, problems


def _line(bulletin: Bulletin, status: BulletinStatus | None) -> BulletinLine:
    if status is None:
        return BulletinLine(slug=bulletin.slug, title=bulletin.title,
                            state=str(BulletinState.HELD), send_at=bulletin.send_at)
    why: tuple[str, ...] = ()
    if status.state == BulletinState.HELD:
        why = tuple(f"{Path(p.location).name}: {p.message}"
                    for p in status.errors[:WHY_LINES])
    elif status.state == BulletinState.REJECTED and status.review and status.review.reason:
        why = (status.review.reason,)
    return BulletinLine(slug=bulletin.slug, title=bulletin.title, state=str(status.state),
                        send_at=status.send_at, errors=len(status.errors), why=why)


def _folder(ctx: Context) -> tuple[tuple[Bulletin, ...], list[str]]:
    """The bulletins folder as a run reads it (a broken file is one problem, not fatal)."""
    if ctx.settings.bulletins is None:
        return (), []
    try:
        loaded = load_bulletins(ctx.settings.resolve(ctx.settings.bulletins.path),
                                ctx.settings)
    except InputError as exc:
        return (), [str(exc)]
    return loaded.bulletins, list(loaded.problems)


def _sending(connection: Connection, row: EditionRow, now: datetime) -> Sending:
    counts = deliveries.counts(connection, row.id)
    deferred = deliveries.waiting_rows(connection, row.id, now)
    unfinished = counts.get("pending", 0) + counts.get("sending", 0)
    erased = erasure.erased_counts(connection, row.id)  # never pending: see store.erasure
    return Sending(row=row, sent=counts.get("sent", 0) + erased.get("sent", 0),
                   pending=unfinished - deferred, deferred=deferred,
                   failed=counts.get("failed", 0) + erased.get("failed", 0))
