"""The outbox: one row per (edition, member), the truth of what was sent.

Rows are created for a whole edition in one transaction before the first message leaves.
A sending process *claims* rows before it sends them (``claims``: they become ``sending``
with its name and a lease, so two processes never hold one row). A row becomes ``sent``
only after the server's 250, ``failed`` only on a permanent refusal or after the last
allowed attempt, and goes back to ``pending`` (with ``next_attempt_at`` for back-off) on a
temporary one. A process that died holding rows leaves them ``sending``: ``release_stale``
returns them to ``pending`` once the lease lapsed or the holder is known dead. A restart
resumes from the rows, never from a counter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    and_,
    exists,
    func,
    or_,
    select,
)

from digest.identifiers import EditionSeries
from digest.models import Delivery, DeliveryStatus, Subscriber, SubscriberStatus
from digest.store.schema import deliveries, editions, subscribers
from digest.store.upsert import dialect_insert

_PENDING = DeliveryStatus.PENDING.value
_SENDING = DeliveryStatus.SENDING.value
_UNFINISHED = (_PENDING, _SENDING)


@dataclass(frozen=True)
class FailedRow:
    """A permanently failed delivery as an operator sees it: who, and what the server said."""

    email: str
    attempts: int
    error: str


def plan(connection: Connection, edition_id: int, recipients: Iterable[tuple[int, str]],
         now: datetime) -> int:
    """Create the pending rows (subscriber id, variant key) that do not exist yet."""
    insert = dialect_insert(connection)
    created = 0
    for subscriber_id, variant_key in recipients:
        result = connection.execute(
            insert(deliveries).values(
                edition_id=edition_id, subscriber_id=subscriber_id, variant_key=variant_key,
                status=_PENDING, attempts=0, updated_at=now)
            .on_conflict_do_nothing(index_elements=["edition_id", "subscriber_id"])
            .returning(deliveries.c.id))
        created += len(result.all())
    return created


def member_columns() -> list[ColumnElement[Any]]:
    """The member's columns a delivery row is read with (``as_delivery``)."""
    return [subscribers.c.email, subscribers.c.name, subscribers.c.language,
            subscribers.c.digests, subscribers.c.themes,
            subscribers.c.status.label("member_status")]


def select_rows() -> Select[Any]:
    """Delivery rows with their members' columns, as ``as_delivery`` reads them."""
    return (select(deliveries, *member_columns())
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id))


def as_delivery(row: RowMapping) -> Delivery:
    """One row of ``select_rows`` as the model the sender works with."""
    return Delivery(
        id=row["id"], edition_id=row["edition_id"],
        subscriber=Subscriber(id=row["subscriber_id"], email=row["email"], name=row["name"],
                              language=row["language"], digests=tuple(row["digests"]),
                              themes=tuple(row["themes"]),
                              status=SubscriberStatus(row["member_status"])),
        variant_key=row["variant_key"], status=DeliveryStatus(row["status"]),
        attempts=row["attempts"], last_error=row["last_error"], message_id=row["message_id"],
        next_attempt_at=row["next_attempt_at"])


def pending(connection: Connection, edition_id: int) -> list[Delivery]:
    """Every pending row of an edition, due or waiting for its back-off."""
    rows = connection.execute(
        select_rows().where(deliveries.c.edition_id == edition_id,
                             deliveries.c.status == _PENDING)
        .order_by(deliveries.c.id)).mappings()
    return [as_delivery(row) for row in rows]


def mark(connection: Connection, delivery_id: int, status: DeliveryStatus, now: datetime,
         message_id: str | None = None, error: str | None = None) -> None:
    """Record one attempt's outcome directly (tools and tests; the sender uses the
    ``mark_*`` functions below)."""
    _finish(connection, delivery_id, now, status=status.value, last_error=error,
            message_id=message_id)


def _finish(connection: Connection, delivery_id: int, now: datetime,
            **values: object) -> None:
    connection.execute(
        deliveries.update().where(deliveries.c.id == delivery_id).values(
            attempts=deliveries.c.attempts + 1, claimed_by=None, lease_until=None,
            updated_at=now, **values))


def mark_sent(connection: Connection, delivery_id: int, now: datetime,
              message_id: str) -> None:
    """The server answered 250: the row is done for good."""
    _finish(connection, delivery_id, now, status=DeliveryStatus.SENT.value, last_error=None,
            next_attempt_at=None, message_id=message_id)


def mark_failed(connection: Connection, delivery_id: int, now: datetime,
                message_id: str | None, error: str) -> None:
    """Refused for good (or out of attempts): kept with the server's answer for operators."""
    _finish(connection, delivery_id, now, status=DeliveryStatus.FAILED.value, last_error=error,
            next_attempt_at=None, message_id=message_id)


def mark_cancelled(connection: Connection, delivery_id: int, now: datetime,
                   reason: str) -> None:
    """The member left before their message went out: nothing is sent."""
    connection.execute(
        deliveries.update().where(deliveries.c.id == delivery_id).values(
            status=DeliveryStatus.CANCELLED.value, last_error=reason, claimed_by=None,
            lease_until=None, updated_at=now))


def defer(connection: Connection, delivery_id: int, now: datetime, message_id: str | None,
          error: str, next_attempt_at: datetime) -> None:
    """A temporary failure: pending again, not tried before ``next_attempt_at``."""
    _finish(connection, delivery_id, now, status=_PENDING, last_error=error,
            next_attempt_at=next_attempt_at, message_id=message_id)


def release(connection: Connection, delivery_ids: Sequence[int], worker: str, now: datetime,
            error: str | None = None) -> int:
    """Give claimed rows back untried (a stop, a session failure): no attempt is counted."""
    if not delivery_ids:
        return 0
    values: dict[str, object] = {"status": _PENDING, "claimed_by": None, "lease_until": None,
                                 "updated_at": now}
    if error is not None:
        values["last_error"] = error
    result = connection.execute(
        deliveries.update().where(deliveries.c.id.in_(list(delivery_ids)),
                                  deliveries.c.status == _SENDING,
                                  deliveries.c.claimed_by == worker).values(**values))
    return int(result.rowcount)


def release_stale(connection: Connection, now: datetime,
                  holder_is_dead: Callable[[str], bool]) -> int:
    """Return to ``pending`` the rows held by a process that is gone: its lease lapsed, or
    ``holder_is_dead(claimed_by)`` says so (a process of this machine that no longer runs).

    A message such a process had handed over just before it died may be sent again: the
    one duplicate per connection the outbox cannot rule out."""
    held = connection.execute(
        select(deliveries.c.id, deliveries.c.claimed_by, deliveries.c.lease_until)
        .where(deliveries.c.status == _SENDING)).all()
    stale = [row.id for row in held
             if row.lease_until is None or row.lease_until <= now
             or holder_is_dead(row.claimed_by or "")]
    if not stale:
        return 0
    connection.execute(
        deliveries.update().where(deliveries.c.id.in_(stale), deliveries.c.status == _SENDING)
        .values(status=_PENDING, claimed_by=None, lease_until=None, updated_at=now))
    return len(stale)


def retry_failed(connection: Connection, edition_id: int, now: datetime) -> int:
    """Queue an edition's failed rows again, with fresh attempts (``--retry-failed``)."""
    result = connection.execute(
        deliveries.update().where(deliveries.c.edition_id == edition_id,
                                  deliveries.c.status == DeliveryStatus.FAILED.value)
        .values(status=_PENDING, attempts=0, next_attempt_at=None, updated_at=now))
    return int(result.rowcount)


def started(connection: Connection, edition_id: int) -> bool:
    """Whether any message of the edition was handed over or tried (or is being): an
    edition may be cancelled only before."""
    return connection.execute(select(deliveries.c.id).where(
        deliveries.c.edition_id == edition_id,
        or_(deliveries.c.status.not_in([_PENDING, DeliveryStatus.CANCELLED.value]),
            deliveries.c.attempts > 0)).limit(1)).first() is not None


def cancel_pending(connection: Connection, edition_id: int, now: datetime,
                   reason: str) -> int:
    """Cancel every pending row of an edition (a cancelled edition); how many."""
    result = connection.execute(deliveries.update().where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == _PENDING).values(
        status=DeliveryStatus.CANCELLED.value, last_error=reason, updated_at=now))
    return int(result.rowcount)


def counts(connection: Connection, edition_id: int) -> dict[str, int]:
    """How many rows of an edition are in each state."""
    rows = connection.execute(
        select(deliveries.c.status, func.count()).where(deliveries.c.edition_id == edition_id)
        .group_by(deliveries.c.status))
    return {status: int(number) for status, number in rows}


def any_unfinished(connection: Connection, edition_id: int) -> bool:
    """Whether a row is still to go (pending, waiting for back-off, or held by a sender).
    Asked at the end of every send job: ``EXISTS`` stops at the first row the index gives
    instead of counting an outbox of a million."""
    return bool(connection.execute(select(exists().where(
        deliveries.c.edition_id == edition_id,
        deliveries.c.status.in_(_UNFINISHED)))).scalar())


def due(now: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    """Rows not waiting for a back-off at ``now`` (the claims' condition too)."""
    return or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now)


def any_due(connection: Connection, edition_id: int, now: datetime) -> bool:
    """Whether a pending row may be tried at ``now`` (not waiting for a back-off): a send
    job's question before it queues its continuation, asked without counting."""
    return bool(connection.execute(select(exists().where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == _PENDING,
        due(now)))).scalar())


def next_attempt(connection: Connection, edition_id: int, now: datetime) -> datetime | None:
    """When the earliest deferred row of an edition may be tried again (None: none waits)."""
    value = connection.execute(
        select(func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.edition_id == edition_id, deliveries.c.status == _PENDING,
            deliveries.c.next_attempt_at > now)).scalar()
    assert value is None or isinstance(value, datetime)
    return value


def failures(connection: Connection, edition_id: int, limit: int = 50) -> list[FailedRow]:
    """The failed rows of an edition with the server's answers, for ``digest status``."""
    rows = connection.execute(
        select(subscribers.c.email, deliveries.c.attempts, deliveries.c.last_error)
        .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        .where(deliveries.c.edition_id == edition_id,
               deliveries.c.status == DeliveryStatus.FAILED.value)
        .order_by(subscribers.c.email).limit(limit))
    return [FailedRow(email=row.email, attempts=row.attempts, error=row.last_error or "")
            for row in rows]


def deferral(connection: Connection, edition_id: int) -> tuple[int, str] | None:
    """How many of an edition's pending rows were put off, and the last answer why (a full
    disk, a server's 4xx): ``digest status`` says it, as a run's summary only counts them.
    None when no pending row was."""
    put_off = (deliveries.c.edition_id == edition_id, deliveries.c.status == _PENDING,
               deliveries.c.last_error.is_not(None))
    rows = connection.execute(select(func.count()).where(*put_off)).scalar_one()
    last = connection.execute(select(deliveries.c.last_error).where(*put_off).order_by(
        deliveries.c.updated_at.desc(), deliveries.c.id.desc()).limit(1)).scalar()
    return (int(rows), str(last)) if rows and last else None


def pending_variant_keys(connection: Connection, edition_id: int) -> list[str]:
    """The variants still to be sent, as planned (not as the members' themes are now);
    rows held by a sender count too, as they return to pending if that sender died."""
    rows = connection.execute(
        select(deliveries.c.variant_key).where(
            deliveries.c.edition_id == edition_id,
            deliveries.c.status.in_(_UNFINISHED)).distinct())
    return sorted(rows.scalars())


def variant_keys(connection: Connection, edition_id: int) -> list[str]:
    """Every variant the edition was planned with, sent or not: the languages its web
    versions are published in."""
    rows = connection.execute(
        select(deliveries.c.variant_key).where(deliveries.c.edition_id == edition_id).distinct())
    return sorted(rows.scalars())


def waiting_rows(connection: Connection, edition_id: int, now: datetime) -> int:
    """Pending rows whose back-off has not run out yet."""
    return int(connection.execute(
        select(func.count()).select_from(deliveries).where(
            and_(deliveries.c.edition_id == edition_id, deliveries.c.status == _PENDING,
                 deliveries.c.next_attempt_at > now))).scalar() or 0)


@dataclass(frozen=True)
class MemberDelivery:
    """One message to a member as a coordinator sees it: which edition, its state, how many
    attempts, the server's last answer, when it last changed."""

    edition: str  # its label: "weekly/3", "bulletin:spring/1"
    status: str
    attempts: int
    last_error: str
    updated_at: datetime
    email: str = ""
    member_id: int = 0


def _member_rows(where: ColumnElement[bool], limit: int) -> Select[Any]:
    return (select(editions.c.digest_id, editions.c.number, deliveries.c.status,
                   deliveries.c.attempts, deliveries.c.last_error, deliveries.c.updated_at,
                   deliveries.c.subscriber_id, subscribers.c.email)
            .join(editions, editions.c.id == deliveries.c.edition_id)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(where).order_by(deliveries.c.updated_at.desc(), deliveries.c.id.desc())
            .limit(limit))


def _member_delivery(row: Any) -> MemberDelivery:
    return MemberDelivery(
        edition=EditionSeries.parse(row.digest_id).label(row.number), status=row.status,
        attempts=row.attempts, last_error=row.last_error or "", updated_at=row.updated_at,
        email=row.email, member_id=row.subscriber_id)


def of_member(connection: Connection, subscriber_id: int,
              limit: int = 200) -> list[MemberDelivery]:
    """A member's messages, the latest first (at most ``limit``)."""
    rows = connection.execute(_member_rows(deliveries.c.subscriber_id == subscriber_id, limit))
    return [_member_delivery(row) for row in rows]


def failed_lately(connection: Connection, limit: int = 500) -> list[MemberDelivery]:
    """Failed messages of every edition with the server's answers, the latest first."""
    rows = connection.execute(
        _member_rows(deliveries.c.status == DeliveryStatus.FAILED.value, limit))
    return [_member_delivery(row) for row in rows]
