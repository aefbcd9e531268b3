"""Planning an edition in the database (``store.audience``) makes exactly the rows the
old plan made from a list of every member: same members, same variant keys, same order,
whatever the members' languages, theme lists, digests and states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from digest import compose
from digest.identifiers import VariantKey
from digest.models import Subscriber
from digest.store import audience, editions, subscribers
from digest.store.database import Database
from digest.store.schema import deliveries
from digest.store.schema import subscribers as subscribers_table

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
LANGUAGES = ["en", "fr", "FR", "de_DE", "", "en-GB"]
THEMES = [[], ["culture"], ["culture", "knowledge-society"], ["knowledge-society", "culture"],
          ["knowledge-society"], ["work"]]
DIGESTS = [["weekly"], ["monthly"], ["weekly", "monthly"], [], ["weeklyish"]]
STATES = ["active", "active", "unsubscribed", "active", "bounced", "pending"]
EMPTY = VariantKey.of(["work"])  # a variant with nothing in it gets no rows


def _fill(database: Database, count: int = 240) -> None:
    with database.transaction() as c:
        for n in range(count):
            c.execute(subscribers_table.insert().values(
                email=f"m{n:04d}@example.org", name=f"M {n}",
                language=LANGUAGES[n % len(LANGUAGES)], themes=THEMES[n % 7 % len(THEMES)],
                digests=DIGESTS[n % 5], status=STATES[n % 11 % len(STATES)], created_at=NOW))


def _edition(database: Database, number: int) -> int:
    with database.transaction() as c:
        row = editions.create(c, digest_id="weekly", slot=NOW.replace(day=number), number=number,
                              status=editions.SENDING, title="T", period_start=None,
                              period_end=NOW, item_keys=[], omitted=0, now=NOW)
    assert row is not None
    return row.id


def _old_plan(members: list[Subscriber]) -> list[tuple[int, str]]:
    """What ``jobs.editions`` planned before: every member read as a model."""
    planned = []
    for member in members:
        key = compose.member_variant_key(member, "en")
        if key != EMPTY and member.id is not None:
            planned.append((member.id, str(key)))
    return planned


def _rows(database: Database, edition_id: int) -> list[tuple[int, str]]:
    with database.transaction() as c:
        return [(row.subscriber_id, row.variant_key) for row in c.execute(
            select(deliveries.c.subscriber_id, deliveries.c.variant_key, deliveries.c.status)
            .where(deliveries.c.edition_id == edition_id).order_by(deliveries.c.id))]


def _new_plan(database: Database, edition_id: int, digest_id: str | None) -> int:
    with database.transaction() as c:
        members = audience.audience(c, digest_id)
        keys = {group: str(key) for group in members.groups
                if (key := compose.member_variant_key(group.member, "en")) != EMPTY}
        return audience.plan(c, edition_id, members, keys, NOW)


def test_the_plan_makes_the_rows_the_member_list_made(db: Database) -> None:
    _fill(db)
    for number, digest_id in ((1, "weekly"), (2, None), (3, "monthly")):
        edition_id = _edition(db, number)
        with db.transaction() as c:
            expected = _old_plan(subscribers.active_for(c, digest_id))
        assert len({key for _, key in expected}) >= 6  # several variants, some languages
        assert _new_plan(db, edition_id, digest_id) == len(expected)
        assert _rows(db, edition_id) == expected
        with db.transaction() as c:  # every planned row is pending, untried
            states = set(c.execute(select(deliveries.c.status, deliveries.c.attempts)
                                   .where(deliveries.c.edition_id == edition_id)))
        assert states == {("pending", 0)}
        assert _new_plan(db, edition_id, digest_id) == 0  # planned once


def test_groups_count_every_active_follower_once(db: Database) -> None:
    _fill(db)
    with db.transaction() as c:
        members = audience.audience(c, "weekly")
        listed = subscribers.active_for(c, "weekly")
    assert members.members == len(listed)
    assert {(g.language, frozenset(g.themes)) for g in members.groups} == {
        (m.language, frozenset(m.themes)) for m in listed}


def test_a_member_who_joins_after_the_groups_were_read_is_not_planned(db: Database) -> None:
    _fill(db, 12)
    edition_id = _edition(db, 1)
    with db.transaction() as c:
        members = audience.audience(c, "weekly")
        c.execute(subscribers_table.insert().values(
            email="late@example.org", name="Late", language="en", themes=[],
            digests=["weekly"], status="active", created_at=NOW))
        keys = {group: str(compose.member_variant_key(group.member, "en"))
                for group in members.groups}
        audience.plan(c, edition_id, members, keys, NOW)
        late = subscribers.by_email(c, "late@example.org")
    assert late is not None and late.id is not None
    assert late.id not in {member for member, _ in _rows(db, edition_id)}


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # SQLite keeps no statistics
def test_a_big_plan_refreshes_postgresqls_statistics(db: Database,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after a big plan a sender claims its rows: PostgreSQL must know the outbox is
    big, or it sorts all of it for each batch instead of reading it in id order."""
    assert db.engine.dialect.name == "postgresql"
    monkeypatch.setattr(audience, "ANALYZE_AFTER", 20)
    _fill(db, 120)
    edition_id = _edition(db, 1)
    created = _new_plan(db, edition_id, None)
    assert created >= 20
    with db.transaction() as c:
        known = c.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE relname = 'deliveries'").scalar()
    assert known == created
