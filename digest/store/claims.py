"""The sender's hot path in the outbox: claiming rows, and recording several ``sent`` marks
in one commit.

A claim flips due ``pending`` rows of an edition to ``sending`` with the claimant's name
and a lease. On PostgreSQL it is one statement: the rows are picked ``FOR UPDATE SKIP
LOCKED``, so processes claiming at the same moment take different rows instead of queueing
behind each other's locks (and each row goes to exactly one of them). On SQLite (one
writer at a time) the ``UPDATE`` re-checks ``status = 'pending'``.

``mark_sent_many`` records the 250s of several connections in one commit (the outbox's
group commit), and reads the edition's status in the same round trip, so a coordinator's
pause is seen after the messages in flight without a query of its own. Both are single
statements on PostgreSQL, meant for a connection in autocommit mode (``Database.
autocommit``): each is its own durable transaction, without BEGIN and COMMIT round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Integer,
    Text,
    bindparam,
    func,
    or_,
    select,
)

from digest.models import Delivery, DeliveryStatus, EditionStatus
from digest.store.deliveries import as_delivery, member_columns, select_rows
from digest.store.schema import deliveries, editions, subscribers

_PENDING = DeliveryStatus.PENDING.value
_SENDING = DeliveryStatus.SENDING.value
_SENT = DeliveryStatus.SENT.value


def due(now: datetime) -> ColumnElement[bool]:
    """Rows not waiting for a back-off at ``now``."""
    return or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now)


def claim(connection: Connection, edition_id: int, worker: str, now: datetime,
          lease_until: datetime, limit: int) -> list[Delivery]:
    """Take up to ``limit`` due pending rows of an edition for ``worker`` (lowest ids first);
    when several processes race, each row goes to exactly one of them."""
    picked = (select(deliveries.c.id)
              .where(deliveries.c.edition_id == edition_id, deliveries.c.status == _PENDING,
                     due(now))
              .order_by(deliveries.c.id).limit(limit))
    values = {"status": _SENDING, "claimed_by": worker, "lease_until": lease_until,
              "updated_at": now}
    if connection.dialect.name == "postgresql":
        locked = picked.with_for_update(skip_locked=True).cte("picked")
        claimed = (deliveries.update()
                   .where(deliveries.c.id.in_(select(locked.c.id)),
                          deliveries.c.status == _PENDING)
                   .values(**values).returning(*deliveries.c).cte("claimed"))
        rows = connection.execute(
            select(*claimed.c, *member_columns())
            .join(subscribers, subscribers.c.id == claimed.c.subscriber_id)
            .order_by(claimed.c.id)).mappings()
        return [as_delivery(row) for row in rows]
    candidates = list(connection.execute(picked).scalars())
    if not candidates:
        return []
    connection.execute(deliveries.update().where(deliveries.c.id.in_(candidates),
                                                 deliveries.c.status == _PENDING)
                       .values(**values))
    rows = connection.execute(
        select_rows().where(deliveries.c.id.in_(candidates), deliveries.c.status == _SENDING,
                            deliveries.c.claimed_by == worker)
        .order_by(deliveries.c.id)).mappings()
    return [as_delivery(row) for row in rows]


@cache
def _marks_statement() -> Any:
    """PostgreSQL's group of marks and the status read, built and compiled once (built per
    call, SQLAlchemy's statement building cost more than the round trip)."""
    pairs = select(
        func.unnest(bindparam("ids", type_=ARRAY(Integer))).label("id"),
        func.unnest(bindparam("message_ids", type_=ARRAY(Text))).label("message_id"),
    ).subquery("marks")
    update = (deliveries.update().where(deliveries.c.id == pairs.c.id)
              .values(message_id=pairs.c.message_id, **_DONE,
                      updated_at=bindparam("now")))
    return (select(editions.c.status).where(editions.c.id == bindparam("edition"))
            .add_cte(update.cte("marked")))


_DONE = {"status": _SENT, "attempts": deliveries.c.attempts + 1, "claimed_by": None,
         "lease_until": None, "last_error": None, "next_attempt_at": None}


def mark_sent_many(connection: Connection, edition_id: int, marks: Sequence[tuple[int, str]],
                   now: datetime) -> EditionStatus | None:
    """Record ``(delivery id, Message-ID)`` pairs as ``sent`` (the server answered 250), and
    return the edition's status as of the same moment."""
    status = select(editions.c.status).where(editions.c.id == edition_id)
    if connection.dialect.name == "postgresql":
        value = connection.execute(_marks_statement(), {
            "ids": [m[0] for m in marks], "message_ids": [m[1] for m in marks],
            "now": now, "edition": edition_id}).scalar()
    else:
        if marks:
            connection.execute(
                deliveries.update().where(deliveries.c.id == bindparam("delivery_id"))
                .values(message_id=bindparam("mid"), updated_at=now, **_DONE),
                [{"delivery_id": delivery_id, "mid": message_id}
                 for delivery_id, message_id in marks])
        value = connection.execute(status).scalar()
    return None if value is None else EditionStatus(value)
