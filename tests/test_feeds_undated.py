"""An item its source gives no date (a folder note, a feed entry without one) keeps the date
it was first seen in the feeds: polling it again every 30 minutes changes nothing a feed reader
sees, and only a change of its text moves its ``<updated>``."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from digest.clock import FixedClock
from digest.config import Settings
from digest.models import Item
from digest.sources import poll_source
from digest.store import Database
from digest.store.items import all_items, upsert_items
from digest.testing import build_settings
from tests.test_publish import make_settings, publish
from tests.test_sources_parsers import THEMES, source_of

FIRST = datetime(2019, 3, 18, 8, 0, tzinfo=UTC)
UNDATED_ENTRY = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Forum</title><link>https://forum.example.org/</link>
<description>d</description>
<item><title>Undated call</title><link>https://forum.example.org/call</link>
<description>{text}</description></item>
</channel></rss>
"""


def _write(folder: Path, kind: str, text: str) -> str:
    """The source's file with ``text`` as the undated item's body; returns its location."""
    if kind == "folder":
        note = folder / "notes" / "call.md"
        note.parent.mkdir(exist_ok=True)
        note.write_text(f"---\ntitle: Undated call\n---\n{text}\n")
        stamp = FIRST.timestamp() - 3600  # the file is older than any poll
        os.utime(note, (stamp, stamp))
        return "notes"
    (folder / "undated.rss").write_text(UNDATED_ENTRY.format(text=text))
    return "undated.rss"


def _poll_and_publish(db: Database, folder: Path, kind: str, text: str, now: datetime,
                      settings: Settings) -> tuple[list[str], feedparser.FeedParserDict]:
    """One poll at ``now`` stored, then the feeds published: the store's outcomes and the
    all-items feed parsed."""
    location = _write(folder, kind, text)
    configured = build_settings(folder, themes=THEMES)
    polled = poll_source(source_of(kind, location), configured, FixedClock(now))
    assert polled.error is None and polled.items
    with db.transaction() as connection:
        outcomes: list[str] = list(upsert_items(connection, polled.items, now))
        stored: list[Item] = all_items(connection)
    publish(stored, [], settings, now)
    (feed,) = (path for path in Path(settings.site.output).rglob("all.atom"))
    return outcomes, feedparser.parse(feed.read_bytes())


@pytest.mark.parametrize("kind", ["folder", "feed"])
def test_an_undated_item_keeps_its_dates_until_its_text_changes(
        db: Database, tmp_path: Path, kind: str) -> None:
    settings = make_settings(tmp_path / "site")
    polls = [FIRST + timedelta(minutes=30 * n) for n in range(4)]
    polled = [_poll_and_publish(db, tmp_path, kind, "First text.", when, settings)
              for when in polls[:3]]
    assert [outcomes for outcomes, _ in polled] == [["new"], ["duplicate"], ["duplicate"]]
    seen = [parsed for _, parsed in polled]
    dates = {(parsed.entries[0].published, parsed.entries[0].updated) for parsed in seen}
    assert len(dates) == 1, dates
    ((published, updated),) = dates
    assert tuple(seen[-1].entries[0].updated_parsed)[:6] <= FIRST.timetuple()[:6]
    outcomes, parsed = _poll_and_publish(db, tmp_path, kind, "Second text.", polls[3], settings)
    assert outcomes == ["updated"]
    changed = parsed.entries[0]
    assert changed.published == published
    assert changed.updated != updated
    assert tuple(changed.updated_parsed)[:6] == polls[3].timetuple()[:6]


FUTURE_ENTRIES = {
    "feed.rss": """<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>
<link>https://forum.example.org/</link><description>d</description>
<item><title>Far ahead</title><link>https://forum.example.org/far</link>
<pubDate>Sat, 31 Dec 2150 08:00:00 GMT</pubDate></item>
<item><title>Hours ahead</title><link>https://forum.example.org/near</link>
<pubDate>Mon, 18 Mar 2019 20:00:00 GMT</pubDate></item>
</channel></rss>""",
    "feed.json": """{"version": "https://jsonfeed.org/version/1.1", "title": "F", "items": [
{"id": "1", "title": "Far ahead", "url": "https://forum.example.org/far",
 "date_published": "2150-12-31T08:00:00Z"},
{"id": "2", "title": "Hours ahead", "url": "https://forum.example.org/near",
 "date_published": "2019-03-18T20:00:00Z"}]}""",
}


@pytest.mark.parametrize("name", sorted(FUTURE_ENTRIES))
def test_an_entry_dated_past_tomorrow_is_undated_and_stays_put(db: Database, tmp_path: Path,
                                                                name: str) -> None:
    """A date in 2150 headed every list sorted newest first (the theme feeds, the
    console) for a century; it is taken as no date, so it is dated when first seen and
    polling it again changes nothing. A few hours ahead (a zone written wrong) is kept."""
    (tmp_path / name).write_text(FUTURE_ENTRIES[name])
    configured = build_settings(tmp_path, themes=THEMES)
    outcomes = []
    for now in (FIRST, FIRST + timedelta(hours=1)):
        polled = poll_source(source_of("feed", name), configured, FixedClock(now))
        assert polled.error is None and polled.items
        with db.transaction() as connection:
            outcomes.append(sorted(upsert_items(connection, polled.items, now)))
            stored = {item.title: item.published for item in all_items(connection)}
    assert stored == {"Far ahead": FIRST, "Hours ahead": datetime(2019, 3, 18, 20, tzinfo=UTC)}
    assert outcomes[1] == ["duplicate", "duplicate"], outcomes  # i.e. unchanged
