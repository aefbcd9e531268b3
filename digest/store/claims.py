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

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Connection,
    Dialect,
    Integer,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy.exc import DBAPIError

from digest.models import Delivery, DeliveryStatus, EditionStatus, Subscriber, SubscriberStatus
from digest.store.deliveries import as_delivery, due, member_columns, select_rows
from digest.store.schema import UTCDateTime, deliveries, editions, subscribers

_PENDING = DeliveryStatus.PENDING.value
_SENDING = DeliveryStatus.SENDING.value
_SENT = DeliveryStatus.SENT.value


def claim(connection: Connection, edition_id: int, worker: str, now: datetime,
          lease_until: datetime, limit: int) -> list[Delivery]:
    """Take up to ``limit`` due pending rows of an edition for ``worker`` (lowest ids first);
    when several processes race, each row goes to exactly one of them."""
    if connection.dialect.name == "postgresql":
        dialect = connection.dialect
        found = _on_driver(connection, _claim_sql(dialect), {
            "edition": edition_id, "size": limit, "worker": worker,
            "now": _AS_UTC.process_bind_param(now, dialect),
            "lease_until": _AS_UTC.process_bind_param(lease_until, dialect)})
        return [_claimed(row, dialect) for row in found]
    picked = (select(deliveries.c.id)
              .where(deliveries.c.edition_id == edition_id, deliveries.c.status == _PENDING,
                     due(now))
              .order_by(deliveries.c.id).limit(limit))
    candidates = list(connection.execute(picked).scalars())
    if not candidates:
        return []
    connection.execute(deliveries.update().where(deliveries.c.id.in_(candidates),
                                                 deliveries.c.status == _PENDING)
                       .values(status=_SENDING, claimed_by=worker, lease_until=lease_until,
                               updated_at=now))
    rows = connection.execute(
        select_rows().where(deliveries.c.id.in_(candidates), deliveries.c.status == _SENDING,
                            deliveries.c.claimed_by == worker)
        .order_by(deliveries.c.id)).mappings()
    return [as_delivery(row) for row in rows]


@lru_cache(maxsize=4)  # a few engines' dialects at most (tests make many)
def _claim_sql(dialect: Dialect) -> str:
    """PostgreSQL's claim as the driver's SQL, compiled once: the due pending rows picked in
    id order (the ``ix_deliveries_status`` index holds ``edition_id, status, id``, so the
    pick reads ``size`` entries instead of sorting every pending row per claim) ``FOR
    UPDATE SKIP LOCKED``, flipped to ``sending`` and returned with their members, in the
    order ``_claimed`` reads (SQLAlchemy's rows and their processing cost 20 µs per row,
    as much as the claim's share of PostgreSQL's work)."""
    now: BindParameter[Any] = bindparam("now")
    pending: ColumnElement[str] = literal_column(f"'{_PENDING}'")
    sending: ColumnElement[str] = literal_column(f"'{_SENDING}'")
    picked = (select(deliveries.c.id)
              .where(deliveries.c.edition_id == bindparam("edition"),
                     deliveries.c.status == pending, due(now))
              .order_by(deliveries.c.id).limit(bindparam("size", type_=Integer))
              .with_for_update(skip_locked=True).cte("picked"))
    claimed = (deliveries.update()
               .where(deliveries.c.id.in_(select(picked.c.id)), deliveries.c.status == pending)
               .values(status=sending, claimed_by=bindparam("worker"),
                       lease_until=bindparam("lease_until"), updated_at=now)
               .returning(*deliveries.c).cte("claimed"))
    c = claimed.c
    statement = (select(c.id, c.edition_id, c.subscriber_id, c.variant_key, c.attempts,
                        c.last_error, c.message_id, c.next_attempt_at, *member_columns())
                 .join(subscribers, subscribers.c.id == c.subscriber_id).order_by(c.id))
    return str(statement.compile(dialect=dialect))


def _claimed(row: Sequence[Any], dialect: Dialect) -> Delivery:
    """One row of ``_claim_sql`` (as the driver gives it) as the model the sender works
    with, as ``as_delivery`` makes it from SQLAlchemy's rows."""
    (delivery_id, edition_id, subscriber_id, variant_key, attempts, last_error, message_id,
     next_attempt_at, email, name, language, digests, themes, member_status) = row
    return Delivery(
        id=delivery_id, edition_id=edition_id,
        subscriber=Subscriber(id=subscriber_id, email=email, name=name, language=language,
                              digests=tuple(digests), themes=tuple(themes),
                              status=SubscriberStatus(member_status)),
        variant_key=variant_key, status=DeliveryStatus.SENDING, attempts=attempts,
        last_error=last_error, message_id=message_id,
        next_attempt_at=_AS_UTC.process_result_value(next_attempt_at, dialect))


@lru_cache(maxsize=4)  # a few engines' dialects at most (tests make many)
def _marks_sql(dialect: Dialect) -> str:
    """PostgreSQL's group of marks and the status read as the driver's SQL, compiled once:
    run per group of 250s, SQLAlchemy's building, caching and compiling cost more than the
    round trip."""
    return str(_marks_statement().compile(dialect=dialect))


def _marks_statement() -> Any:
    """The statement of ``_marks_sql``."""
    pairs = select(
        func.unnest(cast(bindparam("ids", type_=Text), ARRAY(Integer))).label("id"),
        func.unnest(cast(bindparam("message_ids", type_=Text), ARRAY(Text)))
        .label("message_id"),
    ).subquery("marks")
    update = (deliveries.update().where(deliveries.c.id == pairs.c.id)
              .values(message_id=pairs.c.message_id, **_DONE, updated_at=bindparam("now")))
    return (select(editions.c.status).where(editions.c.id == bindparam("edition"))
            .add_cte(update.cte("marked")))


# What a ``sent`` mark sets besides its Message-ID, as constants written into the SQL (no
# parameters: the marks' statement is compiled once and run on the driver).
_DONE = {"status": literal_column(f"'{_SENT}'"),
         "attempts": deliveries.c.attempts + literal_column("1"), "claimed_by": null(),
         "lease_until": null(), "last_error": null(), "next_attempt_at": null()}


def mark_sent_many(connection: Connection, edition_id: int, marks: Sequence[tuple[int, str]],
                   now: datetime) -> EditionStatus | None:
    """Record ``(delivery id, Message-ID)`` pairs as ``sent`` (the server answered 250), and
    return the edition's status as of the same moment."""
    if connection.dialect.name == "postgresql":
        rows = _on_driver(connection, _marks_sql(connection.dialect), {
            "ids": _array_text(str(delivery_id) for delivery_id, _ in marks),
            "message_ids": _array_text(_quoted(message_id) for _, message_id in marks),
            "now": _AS_UTC.process_bind_param(now, connection.dialect),
            "edition": edition_id})
        value = rows[0][0] if rows else None
    else:
        status = select(editions.c.status).where(editions.c.id == edition_id)
        if marks:
            connection.execute(
                deliveries.update().where(deliveries.c.id == bindparam("delivery_id"))
                .values(message_id=bindparam("mid"), updated_at=now, **_DONE),
                [{"delivery_id": delivery_id, "mid": message_id}
                 for delivery_id, message_id in marks])
        value = connection.execute(status).scalar()
    return None if value is None else EditionStatus(value)


def _array_text(elements: Iterable[str]) -> str:
    """A PostgreSQL array's text form, cast in the statement: the driver's own dumping of
    two lists per group cost a tenth of the group's CPU."""
    return "{" + ",".join(elements) + "}"


def _quoted(element: str) -> str:
    """One text element of ``_array_text``, whatever it holds (quotes, backslashes,
    commas, braces, spaces, the word NULL)."""
    return '"' + element.replace("\\", "\\\\").replace('"', '\\"') + '"'


_AS_UTC = UTCDateTime()  # how the marks' time is written (a type made once)


def _on_driver(connection: Connection, sql: str, parameters: dict[str, Any]) -> list[Any]:
    """The rows of ``sql`` run on the driver's own connection with the driver's own
    parameters (a group of marks runs per few messages: SQLAlchemy's execution context and
    result cost as much CPU as the statement); its errors raised as SQLAlchemy's, as the
    callers expect them. Fetched inside: psycopg converts the values as they are fetched,
    and a value it cannot convert (a ``-infinity`` time) fails there."""
    driver = connection.connection.driver_connection
    dbapi = connection.dialect.loaded_dbapi
    try:
        rows: list[Any] = _cursor(connection, driver).execute(sql, parameters).fetchall()
        return rows
    except dbapi.Error as exc:
        lost = connection.dialect.is_disconnect(exc, driver, None)
        raise DBAPIError.instance(sql, parameters, exc, dbapi.Error, dialect=connection.dialect,
                                  connection_invalidated=lost) from exc


def _cursor(connection: Connection, driver: Any) -> Any:
    """The driver connection's cursor, kept with it for the next group (a new cursor per
    statement was half of psycopg's CPU per group: 65 against 150 µs)."""
    cursor = connection.info.get(_CURSOR)
    if cursor is None or cursor.connection is not driver or cursor.closed:
        cursor = connection.info[_CURSOR] = driver.cursor()
    return cursor


_CURSOR = "digest.claims.cursor"  # where ``_cursor`` keeps it: the pooled connection's info
