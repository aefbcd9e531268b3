"""The outbox: one row per (edition, member), the truth of what was sent.

Rows are created for a whole edition in one transaction before the first message leaves; a
row becomes ``sent`` only after the transport accepted the message and ``failed`` only on a
permanent refusal. A restart resumes from the pending rows, never from a counter.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from digest.models import Delivery, DeliveryStatus, Subscriber, SubscriberStatus
from digest.store.schema import deliveries, subscribers


def plan(connection: Connection, edition_id: int, recipients: Iterable[tuple[int, str]],
         now: datetime) -> int:
    """Create the pending rows (subscriber id, variant key) that do not exist yet."""
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    created = 0
    for subscriber_id, variant_key in recipients:
        result = connection.execute(
            insert(deliveries).values(
                edition_id=edition_id, subscriber_id=subscriber_id, variant_key=variant_key,
                status=DeliveryStatus.PENDING.value, attempts=0, updated_at=now)
            .on_conflict_do_nothing(index_elements=["edition_id", "subscriber_id"])
            .returning(deliveries.c.id))
        created += len(result.all())
    return created


def pending(connection: Connection, edition_id: int) -> list[Delivery]:
    rows = connection.execute(
        select(deliveries, subscribers.c.email, subscribers.c.name, subscribers.c.language,
               subscribers.c.digests, subscribers.c.themes,
               subscribers.c.status.label("member_status"))
        .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        .where(deliveries.c.edition_id == edition_id,
               deliveries.c.status == DeliveryStatus.PENDING.value)
        .order_by(deliveries.c.id)).mappings()
    return [Delivery(
        id=row["id"], edition_id=row["edition_id"],
        subscriber=Subscriber(id=row["subscriber_id"], email=row["email"], name=row["name"],
                              language=row["language"], digests=tuple(row["digests"]),
                              themes=tuple(row["themes"]),
                              status=SubscriberStatus(row["member_status"])),
        variant_key=row["variant_key"], status=DeliveryStatus(row["status"]),
        attempts=row["attempts"], last_error=row["last_error"], message_id=row["message_id"])
        for row in rows]


def mark(connection: Connection, delivery_id: int, status: DeliveryStatus, now: datetime,
         message_id: str | None = None, error: str | None = None) -> None:
    """Record one attempt's outcome."""
    connection.execute(
        deliveries.update().where(deliveries.c.id == delivery_id).values(
            status=status.value, attempts=deliveries.c.attempts + 1, last_error=error,
            message_id=message_id, updated_at=now))


def counts(connection: Connection, edition_id: int) -> dict[str, int]:
    """How many rows of an edition are in each state."""
    rows = connection.execute(
        select(deliveries.c.status, func.count()).where(deliveries.c.edition_id == edition_id)
        .group_by(deliveries.c.status))
    return {status: int(number) for status, number in rows}


def pending_variant_keys(connection: Connection, edition_id: int) -> list[str]:
    """The variants still to be sent, as planned (not as the members' themes are now)."""
    rows = connection.execute(
        select(deliveries.c.variant_key).where(
            deliveries.c.edition_id == edition_id,
            deliveries.c.status == DeliveryStatus.PENDING.value).distinct())
    return sorted(rows.scalars())
