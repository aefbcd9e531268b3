"""Editions as stored: one row per (digest, scheduled slot), so a slot yields one edition.

The row freezes the edition's item keys; re-running a slot finds the row instead of making a
second edition, and an empty slot is recorded as ``skipped`` so it is not tried again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, func, select

from digest.identifiers import EditionSeries, parse_label
from digest.models import EditionStatus
from digest.store.keys import fits_integer, plain_text
from digest.store.schema import edition_problems, editions
from digest.store.upsert import dialect_insert

# The statuses by their short names (``editions.SENT``); see ``EditionStatus``.
DRAFT, APPROVED, SENDING, SENT = (EditionStatus.DRAFT, EditionStatus.APPROVED,
                                  EditionStatus.SENDING, EditionStatus.SENT)
SKIPPED, SUPERSEDED, FAILED = (EditionStatus.SKIPPED, EditionStatus.SUPERSEDED,
                               EditionStatus.FAILED)
PAUSED, CANCELLED = EditionStatus.PAUSED, EditionStatus.CANCELLED
# Statuses whose items count as delivered (or on their way) when finding what is new.
DELIVERED = (APPROVED, SENDING, SENT, FAILED, PAUSED)
REASON_LIMIT = 1000  # characters of a renderer's message kept


@dataclass(frozen=True)
class EditionRow:
    """What the store knows of an edition (its items are fetched by key when needed)."""

    id: int
    digest_id: str
    slot: datetime
    number: int
    status: EditionStatus
    title: str
    period_start: datetime | None
    period_end: datetime
    item_keys: tuple[str, ...]
    omitted: int

    @property
    def series(self) -> EditionSeries:
        """The digest or bulletin the edition belongs to."""
        return EditionSeries.parse(self.digest_id)

    @property
    def label(self) -> str:
        """How operators name an edition on the command line: ``weekly/3``."""
        return self.series.label(self.number)


def _row(m: RowMapping) -> EditionRow:
    return EditionRow(
        id=m["id"], digest_id=m["digest_id"], slot=m["slot"], number=m["number"],
        status=EditionStatus(m["status"]), title=m["title"], period_start=m["period_start"],
        period_end=m["period_end"], item_keys=tuple(m["item_keys"]), omitted=m["omitted"],
    )


def find(connection: Connection, digest_id: str, slot: datetime) -> EditionRow | None:
    """The edition of a digest's slot, None when none was made: a slot has one edition at
    most, so a run that finds it resumes it rather than making another."""
    row = connection.execute(
        select(editions).where(editions.c.digest_id == digest_id, editions.c.slot == slot)
    ).mappings().first()
    return None if row is None else _row(row)


def by_label(connection: Connection, label: str) -> EditionRow | None:
    """Find ``weekly/3``, ``bulletin:slug/1`` or a numeric row id (None for a label no
    row can have: a control character, a number beyond the store's, ``store.keys``)."""
    if not plain_text(label):
        return None
    if label.isdigit():
        if not fits_integer(int(label)):
            return None
        query = select(editions).where(editions.c.id == int(label))
    elif (named := parse_label(label)) is not None:
        series, number = named
        if not fits_integer(number):
            return None
        query = select(editions).where(editions.c.digest_id == str(series),
                                       editions.c.number == number)
    else:
        return None
    row = connection.execute(query.where(editions.c.status != SKIPPED)).mappings().first()
    return None if row is None else _row(row)


def latest(connection: Connection, digest_id: str) -> EditionRow | None:
    """The most recent edition that was made (skipped slots do not count)."""
    row = connection.execute(
        select(editions).where(editions.c.digest_id == digest_id, editions.c.status != SKIPPED)
        .order_by(editions.c.slot.desc()).limit(1)
    ).mappings().first()
    return None if row is None else _row(row)


def cursor_edition(connection: Connection, digest_id: str) -> EditionRow | None:
    """The latest edition whose items went (or are going) out: what "new" is measured from.

    Drafts and superseded drafts do not count, so their items reach the next edition."""
    row = connection.execute(
        select(editions).where(editions.c.digest_id == digest_id,
                               editions.c.status.in_(DELIVERED))
        .order_by(editions.c.slot.desc()).limit(1)
    ).mappings().first()
    return None if row is None else _row(row)


def latest_period_end(connection: Connection) -> datetime | None:
    """The latest end of a period an edition that went (or is going) out covers, whatever
    its digest: an item first seen at or before it would be behind that digest's cursor
    (``cursor_edition``) and in none of its editions."""
    found: datetime | None = connection.execute(
        select(editions.c.period_end).where(editions.c.status.in_(DELIVERED))
        .order_by(editions.c.period_end.desc()).limit(1)
    ).scalar()
    return found


def supersede_drafts(connection: Connection, digest_id: str, before: datetime) -> list[str]:
    """Mark the digest's drafts of earlier slots superseded; return their labels."""
    rows = connection.execute(
        select(editions).where(editions.c.digest_id == digest_id, editions.c.status == DRAFT,
                               editions.c.slot < before)).mappings().all()
    for row in rows:
        set_status(connection, row["id"], SUPERSEDED)
    return [_row(row).label for row in rows]


def next_number(connection: Connection, digest_id: str) -> int:
    """The number the digest's next edition gets (1 for its first): editions are numbered
    in order, as readers and operators name them (``weekly/3``)."""
    current = connection.execute(
        select(func.max(editions.c.number)).where(editions.c.digest_id == digest_id)
    ).scalar()
    return int(current or 0) + 1


def create(connection: Connection, *, digest_id: str, slot: datetime, number: int,
           status: EditionStatus, title: str, period_start: datetime | None,
           period_end: datetime,
           item_keys: Sequence[str], omitted: int, now: datetime) -> EditionRow | None:
    """Insert the edition of a slot; None when another run already made it (lost the race).

    No savepoint: SQLite's driver takes the release of one opened first in a transaction
    for a COMMIT, so the edition was committed alone, before the deliveries its caller
    plans in the same transaction (a full disk then left an edition of no deliveries,
    marked sent by the next run)."""
    inserted = connection.execute(
        dialect_insert(connection)(editions).values(
            digest_id=digest_id, slot=slot, number=number, status=status, title=title,
            period_start=period_start, period_end=period_end, item_keys=list(item_keys),
            omitted=omitted, created_at=now)
        .on_conflict_do_nothing(index_elements=["digest_id", "slot"])
        .returning(editions.c.id)).scalar()
    if inserted is None:
        return None
    return find(connection, digest_id, slot)


def set_status(connection: Connection, edition_id: int, status: EditionStatus) -> None:
    """Record where the edition is in its life (rendered, sending, sent...): the next run
    resumes from it."""
    connection.execute(editions.update().where(editions.c.id == edition_id).values(status=status))


def status_of(connection: Connection, edition_id: int) -> EditionStatus | None:
    """The edition's status now (a sender asks between messages: paused or cancelled?)."""
    value = connection.execute(select(editions.c.status).where(editions.c.id == edition_id)
                               ).scalar()
    return None if value is None else EditionStatus(value)


def set_item_keys(connection: Connection, edition_id: int, keys: Sequence[str]) -> None:
    """Freeze the edition's items again (without the items left out of it)."""
    connection.execute(editions.update().where(editions.c.id == edition_id)
                       .values(item_keys=list(keys)))


def recent(connection: Connection, limit: int = 20) -> list[EditionRow]:
    """The latest editions, newest first, skipped slots left out: what operators list to
    see what went out lately."""
    rows = connection.execute(
        select(editions).where(editions.c.status != SKIPPED)
        .order_by(editions.c.created_at.desc(), editions.c.id.desc()).limit(limit)
    ).mappings()
    return [_row(row) for row in rows]


def unfinished(connection: Connection) -> list[EditionRow]:
    """Editions whose sending started and did not finish, or that could not be rendered:
    resumed (rendered again) by the next run, oldest first."""
    rows = connection.execute(select(editions).where(
        editions.c.status.in_([SENDING, APPROVED, FAILED])).order_by(editions.c.slot,
                                                                     editions.c.id))
    return [_row(row) for row in rows.mappings()]


@dataclass(frozen=True)
class LeftOutRow:
    """An item left out of an edition because it could not be rendered."""

    item_key: str
    source_id: str | None
    reason: str


@dataclass(frozen=True)
class Problems:
    """Why an edition is ``failed`` (None when it is not), and the items left out of it."""

    failure: str | None
    left_out: tuple[LeftOutRow, ...]


def mark_failed(connection: Connection, edition_id: int, reason: str, now: datetime) -> None:
    """The edition cannot be rendered: ``failed``, with the reason (the latest only)."""
    set_status(connection, edition_id, FAILED)
    clear_failure(connection, edition_id)
    connection.execute(edition_problems.insert().values(
        edition_id=edition_id, item_key=None, source_id=None, reason=reason[:REASON_LIMIT],
        recorded_at=now))


def clear_failure(connection: Connection, edition_id: int) -> None:
    """Forget why the edition failed (it rendered since); its left-out items stay listed."""
    connection.execute(edition_problems.delete().where(
        edition_problems.c.edition_id == edition_id, edition_problems.c.item_key.is_(None)))


def record_left_out(connection: Connection, edition_id: int,
                    entries: Sequence[tuple[str, str | None, str]], now: datetime) -> int:
    """Record items (key, source id, reason) left out of an edition; each key once.
    Returns how many were not recorded before."""
    known = set(connection.execute(select(edition_problems.c.item_key).where(
        edition_problems.c.edition_id == edition_id,
        edition_problems.c.item_key.is_not(None))).scalars())
    fresh = {key: (source, reason) for key, source, reason in entries if key not in known}
    if fresh:
        connection.execute(edition_problems.insert(), [
            {"edition_id": edition_id, "item_key": key, "source_id": source,
             "reason": reason[:REASON_LIMIT], "recorded_at": now}
            for key, (source, reason) in fresh.items()])
    return len(fresh)


def problems(connection: Connection, edition_id: int) -> Problems:
    """Why the edition failed (if it did) and the items left out of it, in recorded order:
    what operators are told when they look at an edition."""
    rows = connection.execute(select(edition_problems).where(
        edition_problems.c.edition_id == edition_id).order_by(edition_problems.c.id)).mappings()
    failure: str | None = None
    left_out: list[LeftOutRow] = []
    for row in rows:
        if row["item_key"] is None:
            failure = row["reason"]
        else:
            left_out.append(LeftOutRow(row["item_key"], row["source_id"], row["reason"]))
    return Problems(failure=failure, left_out=tuple(left_out))


def archive(connection: Connection, digest_id: str) -> list[EditionRow]:
    """The editions of a digest that went (or are going) out, newest first: its archive page
    (a paused one too: some members have it)."""
    rows = connection.execute(
        select(editions).where(editions.c.digest_id == digest_id,
                               editions.c.status.in_([SENDING, SENT, PAUSED]))
        .order_by(editions.c.number.desc())
    ).mappings()
    return [_row(row) for row in rows]
