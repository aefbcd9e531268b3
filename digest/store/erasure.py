"""A member's data, read whole for their export, and erased at their request.

Erasing keeps what the forum needs to know about its editions and nothing about the
person: their deliveries become counts per (edition, status) in ``erased_deliveries``
(a message still pending or being sent counts as ``cancelled``: it will never go), and
their deliveries, bounce reports, consents (with the choices asked for on the subscribe
page) and member row are deleted; the address is kept only as a hash on the suppression
list, so no import or test sends to it again until its owner subscribes anew. The caller
runs it in one transaction (all or nothing), then ``settle``: SQLite's log keeps no copy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update

from digest.identifiers import EditionSeries
from digest.models import DeliveryStatus
from digest.store import suppression
from digest.store.database import Database
from digest.store.keys import fits_integer
from digest.store.member_tables import (
    bounce_reports,
    consents,
    erased_deliveries,
    join_choices,
)
from digest.store.schema import deliveries, editions, subscribers
from digest.store.upsert import dialect_insert

ERASED_REASON = "erased"
_NEVER_SENT = {DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def member_record(connection: Connection, subscriber_id: int) -> dict[str, Any] | None:
    """The member's row as the export shows it; None when there is no such member."""
    if not fits_integer(subscriber_id):
        return None
    row = connection.execute(select(subscribers).where(
        subscribers.c.id == subscriber_id)).mappings().first()
    if row is None:
        return None
    return {"email": row["email"], "name": row["name"], "language": row["language"],
            "digests": list(row["digests"]), "themes": list(row["themes"]),
            "status": row["status"], "created_at": _iso(row["created_at"])}


def member_deliveries(connection: Connection, subscriber_id: int) -> list[dict[str, Any]]:
    """Every message planned for the member, oldest first: which edition (a digest's id and
    number, or a bulletin's slug), its state, attempts, the mail server's last answer, the
    Message-ID and the times."""
    rows = connection.execute(
        select(deliveries, editions.c.digest_id, editions.c.number, editions.c.title)
        .join(editions, editions.c.id == deliveries.c.edition_id)
        .where(deliveries.c.subscriber_id == subscriber_id)
        .order_by(deliveries.c.id)).mappings()
    found = []
    for row in rows:
        series = EditionSeries.parse(row["digest_id"])
        which = ({"bulletin": series.name} if series.is_bulletin
                 else {"digest": series.name, "number": row["number"]})
        found.append({**which, "edition": series.label(row["number"]), "title": row["title"],
                      "status": row["status"], "attempts": row["attempts"],
                      "server_answer": row["last_error"], "message_id": row["message_id"],
                      "updated_at": _iso(row["updated_at"]),
                      "next_attempt_at": _iso(row["next_attempt_at"])})
    return found


def member_bounces(connection: Connection, subscriber_id: int) -> list[dict[str, Any]]:
    """The bounce and complaint reports matched to the member, oldest first."""
    rows = connection.execute(select(bounce_reports).where(
        bounce_reports.c.subscriber_id == subscriber_id).order_by(
        bounce_reports.c.received_at, bounce_reports.c.id)).mappings()
    return [{"kind": row["kind"], "detail": row["detail"],
             "received_at": _iso(row["received_at"])} for row in rows]


def member_requests(connection: Connection, subscriber_id: int) -> list[dict[str, Any]]:
    """What the member asked for on the subscribe page and has not confirmed yet (the
    name, language, digests and themes kept beside each unconfirmed consent)."""
    rows = connection.execute(
        select(consents.c.given_at, join_choices).join(
            join_choices, join_choices.c.consent_id == consents.c.id)
        .where(consents.c.subscriber_id == subscriber_id, consents.c.confirmed_at.is_(None))
        .order_by(consents.c.id)).mappings()
    return [{"asked_at": _iso(row["given_at"]), "name": row["name"],
             "language": row["language"], "digests": list(row["digests"]),
             "themes": list(row["themes"])} for row in rows]


@dataclass(frozen=True)
class Erased:
    """What an erasure removed: the address (for the caller's answer, never stored) and how
    many deliveries became counts."""

    email: str
    deliveries: int


def erase(connection: Connection, subscriber_id: int, now: datetime) -> Erased | None:
    """Erase the member (see the module's doc); None when there is no such member."""
    if not fits_integer(subscriber_id):
        return None
    # Locked first (PostgreSQL): an edition being planned for them waits, or is counted.
    email = connection.execute(select(subscribers.c.email).where(
        subscribers.c.id == subscriber_id).with_for_update()).scalar()
    if email is None:
        return None
    if connection.dialect.name == "sqlite":  # deleted rows' bytes zeroed, not just freed
        connection.exec_driver_sql("PRAGMA secure_delete = ON")
    theirs = select(deliveries.c.id).where(deliveries.c.subscriber_id == subscriber_id)
    counted: Counter[tuple[int, str]] = Counter()
    for edition_id, status in connection.execute(select(
            deliveries.c.edition_id, deliveries.c.status).where(
            deliveries.c.subscriber_id == subscriber_id)):
        shown = DeliveryStatus.CANCELLED.value if status in _NEVER_SENT else status
        counted[(edition_id, shown)] += 1
    for (edition_id, status), number in sorted(counted.items()):
        _add_count(connection, edition_id, status, number)
    # Reports of their messages, and unmatched ones naming their address in the detail.
    connection.execute(delete(bounce_reports).where(or_(
        bounce_reports.c.subscriber_id == subscriber_id,
        bounce_reports.c.delivery_id.in_(theirs),
        func.lower(bounce_reports.c.detail).contains(email, autoescape=True))))
    connection.execute(delete(deliveries).where(deliveries.c.subscriber_id == subscriber_id))
    asked = select(consents.c.id).where(consents.c.subscriber_id == subscriber_id)
    connection.execute(delete(join_choices).where(join_choices.c.consent_id.in_(asked)))
    connection.execute(delete(consents).where(consents.c.subscriber_id == subscriber_id))
    connection.execute(delete(subscribers).where(subscribers.c.id == subscriber_id))
    suppression.suppress(connection, email, ERASED_REASON, now)
    return Erased(email=email, deliveries=sum(counted.values()))


def settle(database: Database) -> None:
    """After an erasure on SQLite: copy the write-ahead log into the file and empty it, so
    the erased rows' earlier page images leave the disk now, not at some later checkpoint
    (best effort: a reader holding the log open makes it wait for the next one).
    PostgreSQL reuses the rows' space at its next vacuum."""
    if database.dialect != "sqlite":
        return
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _add_count(connection: Connection, edition_id: int, status: str, number: int) -> None:
    """``erased_deliveries`` (edition, status) += number, the row made when missing."""
    insert = dialect_insert(connection)
    result = connection.execute(insert(erased_deliveries).values(
        edition_id=edition_id, status=status, count=number).on_conflict_do_nothing(
        index_elements=["edition_id", "status"]).returning(erased_deliveries.c.count))
    if result.first() is None:
        connection.execute(update(erased_deliveries).where(
            erased_deliveries.c.edition_id == edition_id,
            erased_deliveries.c.status == status).values(
            count=erased_deliveries.c.count + number))


def erased_counts(connection: Connection, edition_id: int) -> dict[str, int]:
    """How many messages of an edition went to members erased since, by state."""
    rows = connection.execute(select(erased_deliveries.c.status, erased_deliveries.c.count)
                              .where(erased_deliveries.c.edition_id == edition_id))
    return {status: int(number) for status, number in rows}


def with_erased(counts: dict[str, int], erased: dict[str, int]) -> dict[str, int]:
    """An edition's delivery counts with its erased members' added, state by state."""
    merged = dict(counts)
    for status, number in erased.items():
        merged[status] = merged.get(status, 0) + number
    return merged
