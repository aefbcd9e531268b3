"""Editions as stored: one row per (digest, scheduled slot), so a slot yields one edition.

The row freezes the edition's item keys; re-running a slot finds the row instead of making a
second edition, and an empty slot is recorded as ``skipped`` so it is not tried again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, func, select
from sqlalchemy.exc import IntegrityError

from digest.store.schema import editions

DRAFT, APPROVED, SENDING, SENT, SKIPPED = "draft", "approved", "sending", "sent", "skipped"
# A draft nobody approved before the next slot: never sent late; its items roll forward.
SUPERSEDED = "superseded"
# Statuses whose items count as delivered (or on their way) when finding what is new.
DELIVERED = (APPROVED, SENDING, SENT)


@dataclass(frozen=True)
class EditionRow:
    """What the store knows of an edition (its items are fetched by key when needed)."""

    id: int
    digest_id: str
    slot: datetime
    number: int
    status: str
    title: str
    period_start: datetime | None
    period_end: datetime
    item_keys: tuple[str, ...]
    omitted: int

    @property
    def label(self) -> str:
        """How operators name an edition on the command line: ``weekly/3``."""
        return f"{self.digest_id}/{self.number}"


def _row(m: RowMapping) -> EditionRow:
    return EditionRow(
        id=m["id"], digest_id=m["digest_id"], slot=m["slot"], number=m["number"],
        status=m["status"], title=m["title"], period_start=m["period_start"],
        period_end=m["period_end"], item_keys=tuple(m["item_keys"]), omitted=m["omitted"],
    )


def find(connection: Connection, digest_id: str, slot: datetime) -> EditionRow | None:
    row = connection.execute(
        select(editions).where(editions.c.digest_id == digest_id, editions.c.slot == slot)
    ).mappings().first()
    return None if row is None else _row(row)


def by_label(connection: Connection, label: str) -> EditionRow | None:
    """Find ``weekly/3``, ``bulletin:slug/1`` or a numeric row id."""
    if label.isdigit():
        query = select(editions).where(editions.c.id == int(label))
    else:
        digest_id, _, number = label.rpartition("/")
        if not number.isdigit():
            return None
        query = select(editions).where(editions.c.digest_id == digest_id,
                                       editions.c.number == int(number))
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


def supersede_drafts(connection: Connection, digest_id: str, before: datetime) -> list[str]:
    """Mark the digest's drafts of earlier slots superseded; return their labels."""
    rows = connection.execute(
        select(editions).where(editions.c.digest_id == digest_id, editions.c.status == DRAFT,
                               editions.c.slot < before)).mappings().all()
    for row in rows:
        set_status(connection, row["id"], SUPERSEDED)
    return [_row(row).label for row in rows]


def next_number(connection: Connection, digest_id: str) -> int:
    current = connection.execute(
        select(func.max(editions.c.number)).where(editions.c.digest_id == digest_id)
    ).scalar()
    return int(current or 0) + 1


def create(connection: Connection, *, digest_id: str, slot: datetime, number: int, status: str,
           title: str, period_start: datetime | None, period_end: datetime,
           item_keys: Sequence[str], omitted: int, now: datetime) -> EditionRow | None:
    """Insert the edition of a slot; None when another run already made it (lost the race)."""
    try:
        with connection.begin_nested():
            connection.execute(editions.insert().values(
                digest_id=digest_id, slot=slot, number=number, status=status, title=title,
                period_start=period_start, period_end=period_end, item_keys=list(item_keys),
                omitted=omitted, created_at=now))
    except IntegrityError:
        return None
    return find(connection, digest_id, slot)


def set_status(connection: Connection, edition_id: int, status: str) -> None:
    connection.execute(editions.update().where(editions.c.id == edition_id).values(status=status))


def recent(connection: Connection, limit: int = 20) -> list[EditionRow]:
    rows = connection.execute(
        select(editions).where(editions.c.status != SKIPPED)
        .order_by(editions.c.created_at.desc(), editions.c.id.desc()).limit(limit)
    ).mappings()
    return [_row(row) for row in rows]


def unfinished(connection: Connection) -> list[EditionRow]:
    """Editions whose sending started and did not finish: resumed by the next run."""
    rows = connection.execute(select(editions).where(editions.c.status.in_([SENDING, APPROVED])))
    return [_row(row) for row in rows.mappings()]


def archive(connection: Connection, digest_id: str) -> list[EditionRow]:
    """The editions of a digest that went (or are going) out, newest first: its archive page."""
    rows = connection.execute(
        select(editions).where(editions.c.digest_id == digest_id,
                               editions.c.status.in_([SENDING, SENT]))
        .order_by(editions.c.number.desc())
    ).mappings()
    return [_row(row) for row in rows]
