"""Bounce and complaint reports as stored: each once (its report key), with its member and
delivery when they were found, ``unmatched`` otherwise.

"Soft bounces in a row" (``soft_in_a_row``) is read from the member's latest reports: the
soft ones since their last hard bounce or complaint, counted once per delivery (a delay
warning and the final failure of one message are one). A message that later reached the
member without a report does not reset the count: no report comes back for it, so the
store cannot tell it apart from one that is still on its way (docs/bounces.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from digest.models import SubscriberStatus
from digest.store.member_tables import bounce_reports
from digest.store.schema import deliveries, subscribers
from digest.store.upsert import dialect_insert

KINDS = ("hard", "soft", "complaint", "unmatched")
_LOOKBACK = 1000  # reports of one member read to count a run of soft ones


@dataclass(frozen=True)
class DeliveryRef:
    """The delivery a report is about, and its member."""

    delivery_id: int
    subscriber_id: int


def known(connection: Connection, report_key: str) -> bool:
    """Whether this report was stored already (a mailbox read twice)."""
    return connection.execute(select(bounce_reports.c.id).where(
        bounce_reports.c.report_key == report_key)).first() is not None


def record(connection: Connection, *, report_key: str, kind: str, detail: str,
           now: datetime, subscriber_id: int | None = None,
           delivery_id: int | None = None) -> bool:
    """Store one report; False when its key was stored already (by this or another run)."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    insert = dialect_insert(connection)
    result = connection.execute(
        insert(bounce_reports).values(report_key=report_key, subscriber_id=subscriber_id,
                                      delivery_id=delivery_id, kind=kind, detail=detail,
                                      received_at=now)
        .on_conflict_do_nothing(index_elements=["report_key"]).returning(bounce_reports.c.id))
    return bool(result.all())


def delivery(connection: Connection, delivery_id: int) -> DeliveryRef | None:
    """The delivery of this id (a VERP address names it), None when unknown."""
    row = connection.execute(select(deliveries.c.id, deliveries.c.subscriber_id).where(
        deliveries.c.id == delivery_id)).first()
    return None if row is None else DeliveryRef(row.id, row.subscriber_id)


def delivery_by_message_id(connection: Connection, message_id: str) -> DeliveryRef | None:
    """The delivery sent with this Message-ID (``<...>``), None when none was."""
    row = connection.execute(
        select(deliveries.c.id, deliveries.c.subscriber_id)
        .where(deliveries.c.message_id == message_id[:400])
        .order_by(deliveries.c.id.desc()).limit(1)).first()
    return None if row is None else DeliveryRef(row.id, row.subscriber_id)


def soft_in_a_row(connection: Connection, subscriber_id: int) -> int:
    """How many deliveries soft-bounced since the member's last hard bounce or complaint."""
    rows = connection.execute(
        select(bounce_reports.c.id, bounce_reports.c.kind, bounce_reports.c.delivery_id)
        .where(bounce_reports.c.subscriber_id == subscriber_id)
        .order_by(bounce_reports.c.received_at.desc(), bounce_reports.c.id.desc())
        .limit(_LOOKBACK)).all()
    seen: set[tuple[str, int]] = set()
    for row in rows:
        if row.kind != "soft":
            break
        seen.add(("delivery", row.delivery_id) if row.delivery_id is not None
                 else ("report", row.id))
    return len(seen)


def counts(connection: Connection) -> dict[str, int]:
    """How many reports of each kind are stored (every kind, zero included)."""
    found = dict.fromkeys(KINDS, 0)
    rows = connection.execute(select(bounce_reports.c.kind, func.count())
                              .group_by(bounce_reports.c.kind))
    for kind, number in rows:
        found[str(kind)] = int(number)
    return found


def members_bounced(connection: Connection) -> int:
    """How many members are marked bounced now (by a report or a refused address)."""
    return int(connection.execute(select(func.count()).select_from(subscribers).where(
        subscribers.c.status == SubscriberStatus.BOUNCED.value)).scalar() or 0)


def for_member(connection: Connection, subscriber_id: int) -> list[dict[str, object]]:
    """A member's reports, oldest first: kind, detail, received_at (ISO), for their data."""
    rows = connection.execute(
        select(bounce_reports.c.kind, bounce_reports.c.detail, bounce_reports.c.received_at)
        .where(bounce_reports.c.subscriber_id == subscriber_id)
        .order_by(bounce_reports.c.received_at, bounce_reports.c.id)).all()
    return [{"kind": row.kind, "detail": row.detail,
             "received_at": row.received_at.isoformat()} for row in rows]
