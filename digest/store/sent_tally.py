"""How many outbox rows each edition that may still send has sent, read twice by
``run --once --wait`` so its "messages sent" is what the outbox recorded in between.

The send jobs' own reports cannot be the count: a worker killed or frozen in the middle of
a job never reports the messages it sent before (their marks are committed), and a job
retried after it reports only the retry's. The outbox is the truth of what left.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, or_, select

from digest.identifiers import EditionSeries
from digest.models import DeliveryStatus, EditionStatus
from digest.store.schema import deliveries, editions

# Editions that can send no more: their counts cannot change, so they are never read (an
# outbox of a million rows per past edition would make each reading a long scan).
_DONE = (EditionStatus.SENT, EditionStatus.SKIPPED, EditionStatus.SUPERSEDED,
         EditionStatus.CANCELLED)


@dataclass(frozen=True)
class SentTally:
    """Sent rows per open edition id, and the highest edition id then (newer ones had
    none)."""

    sent: dict[int, int]
    highest: int


def take(connection: Connection) -> SentTally:
    """The reading before a run: every edition that may still send, and the newest id."""
    highest = connection.execute(select(func.coalesce(func.max(editions.c.id), 0))).scalar()
    ids = [row[0] for row in connection.execute(
        select(editions.c.id).where(editions.c.status.not_in(_DONE)))]
    return SentTally(_sent_of(connection, ids), int(highest or 0))


def sent_since(connection: Connection, before: SentTally) -> dict[str, int]:
    """Messages sent since ``before``, by edition label (editions that sent none left
    out), in the order the editions were made."""
    rows = connection.execute(
        select(editions.c.id, editions.c.digest_id, editions.c.number)
        .where(or_(editions.c.id.in_(list(before.sent)), editions.c.id > before.highest))
        .order_by(editions.c.id)).all()
    now = _sent_of(connection, [row.id for row in rows])
    found: dict[str, int] = {}
    for row in rows:
        if (more := now.get(row.id, 0) - before.sent.get(row.id, 0)) > 0:
            found[EditionSeries.parse(row.digest_id).label(row.number)] = more
    return found


def _sent_of(connection: Connection, edition_ids: list[int]) -> dict[int, int]:
    """Sent rows of each edition, found through the status index."""
    if not edition_ids:
        return {}
    rows = connection.execute(
        select(deliveries.c.edition_id, func.count())
        .where(deliveries.c.edition_id.in_(edition_ids),
               deliveries.c.status == DeliveryStatus.SENT.value)
        .group_by(deliveries.c.edition_id))
    return {int(edition_id): int(count) for edition_id, count in rows}
