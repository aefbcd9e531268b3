"""The store's side of issues 9.2 and 9.3, on SQLite and on a real PostgreSQL: items found
by their link identity across sources, stored text scrubbed when read back, and why an
edition failed or which items were left out of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from digest.models import Item, Kind
from digest.store import Database, editions, items
from digest.store.schema import item_links, item_sources
from digest.store.schema import items as items_table

NOW = datetime(2019, 3, 18, 7, tzinfo=UTC)


def article(key: str, source: str, link_key: str | None, **extra: object) -> Item:
    values: dict[str, object] = dict(
        key=key, kind=Kind.NEWS, title="Lyon pledges", link="https://city.example.org/lyon",
        summary_html="<p>s</p>", published=datetime(2019, 3, 1, tzinfo=UTC), themes=(),
        source_id=source, link_key=link_key)
    values.update(extra)
    return Item(**values)  # type: ignore[arg-type]


LINK = "https://city.example.org/lyon"


def test_the_same_link_under_another_key_is_the_stored_item(db: Database) -> None:
    with db.transaction() as c:
        assert items.upsert_items(c, [article("tag:city,1", "city", LINK)], NOW) == ["new"]
    with db.transaction() as c:
        outcomes = items.upsert_items(c, [
            article("https://partner.example.net/?p=7", "partner", LINK, title="Other words",
                    themes=("economy",)),
            article("urn:x:2", "partner", "https://city.example.org/other")], NOW)
    assert outcomes == ["updated", "new"]  # the themes merged, the first text kept
    with db.transaction() as c:
        stored = items.items_by_keys(c, ["tag:city,1"])
        assert [(i.title, i.themes) for i in stored] == [("Lyon pledges", ("economy",))]
        assert items.sources_of(c, "tag:city,1") == ["city", "partner"]
        assert items.count_items(c) == 2
        assert c.execute(select(item_links.c.link_key)).scalars().all() == [
            "https://city.example.org/lyon", "https://city.example.org/other"]
    with db.transaction() as c:  # no link identity: no merging, however alike
        items.upsert_items(c, [article("tag:third,1", "third", None)], NOW)
        assert items.count_items(c) == 3
        assert c.execute(select(item_sources)).all()


def test_text_an_older_version_stored_is_scrubbed_when_read(db: Database) -> None:
    with db.transaction() as c:
        items.upsert_items(c, [article("tag:a", "city", None)], NOW)
        c.execute(update(items_table).values(title="Bad\x01 ti\u202etle",
                                             summary_html="<p>x\x0b&#1;y</p>"))
        (item,) = items.all_items(c)
    assert (item.title, item.summary_html) == ("Bad title", "<p>xy</p>")


def test_failure_and_left_out_items_are_recorded_per_edition(db: Database) -> None:
    with db.transaction() as c:
        row = editions.create(c, digest_id="weekly", slot=NOW, number=1,
                              status=editions.SENDING, title="W", period_start=None,
                              period_end=NOW, item_keys=["a", "b"], omitted=0, now=NOW)
        assert row is not None
        assert editions.problems(c, row.id) == editions.Problems(None, ())
        editions.mark_failed(c, row.id, "first reason", NOW)
        editions.mark_failed(c, row.id, "x" * 5000, NOW + timedelta(hours=1))
        assert editions.record_left_out(c, row.id, [("b", "news", "MJML refused it")], NOW) == 1
        assert editions.record_left_out(c, row.id, [("b", "news", "again")], NOW) == 0
        found = editions.problems(c, row.id)
        assert found.failure == "x" * editions.REASON_LIMIT
        assert found.left_out == (editions.LeftOutRow("b", "news", "MJML refused it"),)
        assert [r.status for r in editions.unfinished(c)] == [editions.FAILED]
        assert editions.cursor_edition(c, "weekly") is not None  # its items are taken
        editions.clear_failure(c, row.id)
        assert editions.problems(c, row.id).failure is None
