"""The feeds' read of the newest items gives what sorting every stored item would give,
also when a theme is so rare that its feed never fills (its rows then come from a read of
that theme alone, filtered by the database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.models import Item, Kind
from digest.store import feed_items, items
from digest.store.database import Database

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
THEMES = ("common", "other", "niche", "empty")


def _item(n: int) -> Item:
    themes = ["common" if n % 2 else "other"]
    if n % 97 == 5:
        themes.append("niche")
    published = NOW - timedelta(hours=n // 3)  # ties in threes
    return Item(key=f"https://example.org/{n}", kind=Kind.NEWS, title=f"t{n}",
                link=f"https://example.org/{n}", summary_html="<p>s</p>", published=published,
                themes=tuple(themes), source_id="feed-a")


def _expected(stored: list[Item], limit: int) -> set[str]:
    """Every feed's newest ``limit`` items, ties at the limit included, by sorting all."""
    wanted: set[str] = set()
    for theme in (None, *THEMES):
        of_feed = sorted((i for i in stored if theme is None or theme in i.themes),
                         key=lambda i: i.published, reverse=True)
        if len(of_feed) > limit:
            last = of_feed[limit - 1].published
            of_feed = [i for i in of_feed if i.published >= last]
        wanted |= {i.key for i in of_feed}
    return wanted


@pytest.mark.parametrize("batch", [5, 1000])
def test_a_niche_theme_gets_its_newest_items(db: Database, monkeypatch: pytest.MonkeyPatch,
                                             batch: int) -> None:
    monkeypatch.setattr(feed_items, "BATCH", batch)  # 5: the niche is read on by itself
    read_on, themes_read_on = feed_items._read_on, []

    def spy(*args: object) -> list[int]:
        themes_read_on.append(args[2])
        return read_on(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(feed_items, "_read_on", spy)
    stored = [_item(n) for n in range(600)]
    with db.transaction() as c:
        items.upsert_items(c, stored, NOW)
        chosen = feed_items.newest_items_per_feed(c, NOW, 4, THEMES)
    niche = [i for i in stored if "niche" in i.themes]
    assert len(niche) > 4 and niche[-1].key not in {i.key for i in chosen}
    assert {i.key for i in chosen} == _expected(stored, 4)
    assert themes_read_on == (["niche", "empty"] if batch == 5 else [])
