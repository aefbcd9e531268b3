"""Storing a source's items as one batch gives what one upsert after the other gives, on
SQLite and on a real PostgreSQL, including keys repeated in the batch and keys another
process stored in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, select

from digest.models import Item, Kind
from digest.store import Database, items
from digest.store.schema import items as items_table

NOW = datetime(2019, 3, 18, 7, tzinfo=UTC)


def news(n: int, **extra: object) -> Item:
    values: dict[str, object] = dict(
        key=f"https://example.org/{n}", kind=Kind.NEWS, title=f"Story {n}",
        link=f"https://example.org/{n}", summary_html="<p>s</p>",
        published=datetime(2019, 3, 1, tzinfo=UTC), themes=(), source_id="feed-a")
    values.update(extra)
    return Item(**values)  # type: ignore[arg-type]


def stored(db: Database) -> dict[str, tuple[str, tuple[str, ...], datetime, datetime]]:
    with db.transaction() as c:
        rows = c.execute(select(items_table.c.key, items_table.c.title, items_table.c.themes,
                                items_table.c.first_seen, items_table.c.last_seen))
        return {r.key: (r.title, tuple(r.themes), r.first_seen, r.last_seen) for r in rows}


def test_a_batch_matches_one_upsert_after_the_other(db: Database, tmp_path: Path) -> None:
    later = NOW + timedelta(hours=1)
    first = [news(n) for n in range(5)]
    second = [news(0), news(1, title="Story 1 (updated)"), news(5),
              news(5, themes=("culture",)),  # the same key twice in one feed
              news(2, source_id="feed-b", themes=("economy",))]
    with db.transaction() as c:
        assert items.upsert_items(c, first, NOW) == ["new"] * 5
    with db.transaction() as c:
        outcomes = items.upsert_items(c, second, later)
    assert outcomes == ["duplicate", "updated", "new", "updated", "updated"]

    reference = Database(f"sqlite:///{tmp_path / 'reference.db'}")
    with reference.transaction() as c:
        for item in first:
            items.upsert_item(c, item, NOW)
    with reference.transaction() as c:
        assert [items.upsert_item(c, item, later) for item in second] == outcomes
    assert stored(db) == stored(reference)
    reference.close()
    rows = stored(db)
    assert rows["https://example.org/0"][2:] == (NOW, later)  # seen again, not new again
    assert rows["https://example.org/3"][2:] == (NOW, NOW)
    assert rows["https://example.org/5"][1] == ("culture",)
    with db.transaction() as c:
        assert items.sources_of(c, "https://example.org/2") == ["feed-a", "feed-b"]


def test_keys_stored_by_another_process_in_between_are_known(
    db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with db.transaction() as c:
        items.upsert_items(c, [news(0), news(1)], NOW)
    real_known = items._known
    calls: list[int] = []

    def blind_once(connection: Connection, keys: set[str]) -> dict[str, object]:
        calls.append(len(keys))
        return {} if len(calls) == 1 else dict(real_known(connection, keys))

    monkeypatch.setattr(items, "_known", blind_once)
    later = NOW + timedelta(hours=1)
    with db.transaction() as c:
        outcomes = items.upsert_items(c, [news(0), news(1, title="Changed"), news(2)], later)
    assert outcomes == ["duplicate", "updated", "new"]
    rows = stored(db)
    assert rows["https://example.org/1"][0] == "Changed"
    assert rows["https://example.org/2"][2] == later


def test_an_empty_batch_writes_nothing(db: Database) -> None:
    with db.transaction() as c:
        assert items.upsert_items(c, [], NOW) == []
    assert stored(db) == {}
