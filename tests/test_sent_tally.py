"""``store.sent_tally``: what ``run --once --wait`` reports as messages sent is what the
outbox recorded between two readings, whoever sent it and whether or not they reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from digest.models import DeliveryStatus, EditionStatus, Subscriber
from digest.store import Database, deliveries, editions, sent_tally, subscribers
from digest.store.editions import EditionRow

NOW = datetime(2019, 3, 18, 7, tzinfo=UTC)


def _members(c: Connection, count: int) -> list[int]:
    for n in range(count):
        subscribers.add(c, Subscriber(email=f"m{n}@example.org", name=f"M{n}",
                                      language="en", digests=("weekly",)), NOW)
    found = [m.id for m in subscribers.active_for(c, "weekly")]
    assert len(found) == count and all(i is not None for i in found)
    return [i for i in found if i is not None]


def _edition(c: Connection, number: int, status: EditionStatus, members: list[int]) -> EditionRow:
    row = editions.create(c, digest_id="weekly", slot=NOW + timedelta(days=7 * number),
                          number=number, status=status, title="W", period_start=None,
                          period_end=NOW, item_keys=[], omitted=0, now=NOW)
    assert row is not None
    deliveries.plan(c, row.id, [(m, "all") for m in members], NOW)
    return row


def _send(c: Connection, row: EditionRow, count: int) -> None:
    for delivery in deliveries.pending(c, row.id)[:count]:
        deliveries.mark(c, delivery.id, DeliveryStatus.SENT, NOW, f"<{delivery.id}@x>")


def test_only_what_was_sent_between_the_readings_counts(db: Database) -> None:
    with db.transaction() as c:
        members = _members(c, 6)
        done = _edition(c, 1, EditionStatus.SENDING, members)
        _send(c, done, 6)
        editions.set_status(c, done.id, EditionStatus.SENT)
        going = _edition(c, 2, EditionStatus.SENDING, members)
        _send(c, going, 2)  # sent before the run: not the run's
        untouched = _edition(c, 3, EditionStatus.APPROVED, members)
        before = sent_tally.take(c)
    assert before.sent == {going.id: 2} and before.highest == untouched.id
    with db.transaction() as c:
        _send(c, going, 3)
        new = _edition(c, 4, EditionStatus.SENDING, members)  # made during the run
        _send(c, new, 4)
        deliveries.mark(c, deliveries.pending(c, new.id)[0].id, DeliveryStatus.FAILED, NOW,
                        None)  # refused: not sent
        assert sent_tally.sent_since(c, before) == {"weekly/2": 3, "weekly/4": 4}
    with db.transaction() as c:  # a reading right after another: nothing since
        assert sent_tally.sent_since(c, sent_tally.take(c)) == {}
