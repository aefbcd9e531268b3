"""Feeds, OPML and the feeds index, published from items built in memory."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import feedparser
import pytest

from digest.config import Settings
from digest.errors import PublishError
from digest.files import write_if_changed
from digest.models import Bulletin, BulletinSection, EventInfo, Item, Kind
from digest.publish import (
    KIND_SCHEME,
    BulletinEntry,
    entry_id,
    feed_catalogue,
    publish_feeds,
)
from digest.render.feeds import FeedTemplates
from digest.testing import build_settings

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://forum.example.org/digest"
NOW = datetime(2019, 3, 18, 8, 0, tzinfo=UTC)



def publish(items: Sequence[Item], bulletins: Sequence[BulletinEntry], settings: Settings,
            now: datetime) -> list[Path]:
    """``publish_feeds`` as the feeds job calls it, with the renderers' feeds page."""
    return publish_feeds(items, bulletins, settings, now,
                         markup=FeedTemplates(settings))


def make_settings(tmp_path: Path, entries: int = 50, **themes: str) -> Settings:
    """Feeds of ``entries`` entries written under ``tmp_path`` (three themes unless given)."""
    return build_settings(
        tmp_path, site={"base_url": BASE, "output": str(tmp_path)}, feeds={"entries": entries},
        themes=themes or {"cooperation": "Cooperation", "knowledge-society": "Knowledge society",
                          "culture": "Culture"})


def item(key: str, days_ago: float, themes: tuple[str, ...] = ("cooperation",), *,
         title: str | None = None, summary: str = "<p>Summary.</p>", kind: Kind = Kind.NEWS,
         link: str | None = "auto", event: EventInfo | None = None,
         updated: datetime | None = None) -> Item:
    return Item(
        key=key,
        kind=kind,
        title=title or f"Title of {key}",
        link=f"https://cities.example.org/{hashlib.sha1(key.encode()).hexdigest()[:8]}"
        if link == "auto" else link,
        summary_html=summary,
        published=NOW - timedelta(days=days_ago),
        themes=themes,
        source_id="news",
        event=event,
        updated=updated,
    )


def sample_items() -> list[Item]:
    return [
        item("https://cities.example.org/news/social-innovation", 1,
             ("cooperation", "knowledge-society")),
        item("tag:cities.example.org,2019:guid-42", 2, ("culture",), kind=Kind.CASE_STUDY),
        item("sha256:abcdef", 3, ("cooperation",), kind=Kind.EVENT, link=None,
             event=EventInfo(date(2019, 3, 20), date(2019, 3, 22), "Brussels")),
        item("https://cities.example.org/publications/report", 4, ("knowledge-society",),
             kind=Kind.PUBLICATION),
    ]


def sample_bulletin() -> BulletinEntry:
    bulletin = Bulletin(
        slug="wg-smart-social-inclusion-2019-03",
        title="Updates from WG Smart Social Inclusion",
        forum="Social Affairs Forum",
        group="WG Smart Social Inclusion",
        place="Brussels",
        start_date=date(2019, 3, 1),
        end_date=None,
        themes=("cooperation",),
        sections=(BulletinSection("Coordination", "<p>News.</p>", 1),
                  BulletinSection("Upcoming meetings and activities", "<ul></ul>", 2)),
        footer_html="<p>Funded by EaSI.</p>",
        intro_html="<p>Dear colleagues,</p>",
        language="en",
        source_path="sample/bulletins/wg.md",
        markdown="# x",
    )
    return BulletinEntry(
        bulletin=bulletin,
        web_url=f"{BASE}/bulletins/wg-smart-social-inclusion-2019-03/",
        pdf_url=f"{BASE}/bulletins/wg-smart-social-inclusion-2019-03/bulletin.pdf",
        pdf_size=48213,
        published=NOW - timedelta(hours=5),
    )


def feed_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.feeds_dir.iterdir() if p.suffix in (".atom", ".rss"))


# ------------------------------------------------------------------------ files and bytes


def test_writes_every_feed_opml_and_index(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    paths = publish(sample_items(), [sample_bulletin()], settings, NOW)
    names = {p.name for p in paths}
    assert names == {
        "all.atom", "all.rss", "bulletins.atom", "bulletins.rss", "index.opml", "index.html",
        "cooperation.atom", "cooperation.rss", "knowledge-society.atom",
        "knowledge-society.rss", "culture.atom", "culture.rss",
    }
    assert all(p.parent == settings.feeds_dir and p.is_file() for p in paths)
    assert settings.feeds_dir == tmp_path / "feeds"


def test_publishing_twice_gives_identical_bytes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, environment="Environment")  # one theme stays empty
    first = {p.name: p.read_bytes()
             for p in publish(sample_items(), [sample_bulletin()], settings, NOW)}
    mtimes = {p.name: p.stat().st_mtime_ns for p in settings.feeds_dir.iterdir()}
    # The same store, given in another order, at the same moment.
    second_paths = publish(list(reversed(sample_items())), [sample_bulletin()],
                                 settings, NOW)
    second = {p.name: p.read_bytes() for p in second_paths}
    assert first == second
    # Unchanged files are not even rewritten.
    assert mtimes == {p.name: p.stat().st_mtime_ns for p in settings.feeds_dir.iterdir()}


def test_feed_dates_come_from_entries_not_the_clock(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    publish(sample_items(), [sample_bulletin()], settings, NOW)
    before = (settings.feeds_dir / "all.rss").read_bytes()
    publish(sample_items(), [sample_bulletin()], settings, NOW + timedelta(days=3))
    assert (settings.feeds_dir / "all.rss").read_bytes() == before
    parsed = feedparser.parse(before)
    newest = max(i.published for i in sample_items())
    assert parsed.feed.updated_parsed[:6] == newest.timetuple()[:6]
    atom = feedparser.parse((settings.feeds_dir / "all.atom").read_bytes())
    assert atom.feed.updated_parsed[:6] == newest.timetuple()[:6]


def test_empty_feed_uses_now_and_is_valid(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    publish([], [], settings, NOW)
    for path in feed_files(settings):
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, (path.name, parsed.get("bozo_exception"))
        assert parsed.entries == []
        assert parsed.feed.updated_parsed[:6] == NOW.timetuple()[:6]


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    publish(sample_items(), [sample_bulletin()], settings, NOW)
    publish(sample_items()[:2], [], settings, NOW)
    leftovers = [p.name for p in settings.feeds_dir.iterdir()
                 if p.name.startswith(".") or p.name.endswith(".tmp")]
    assert leftovers == []


def test_atomic_write_failure_keeps_old_file_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "feed.atom"
    assert write_if_changed(target, b"old") is True
    assert write_if_changed(target, b"old") is False  # unchanged: not rewritten
    blocker = tmp_path / "dir.atom"
    blocker.mkdir()
    (blocker / "child").write_text("x")
    with pytest.raises(OSError):
        write_if_changed(blocker, b"new")  # cannot replace a non-empty folder
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.atom", "feed.atom"]


def test_unwritable_folder_is_a_publish_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    (tmp_path / "feeds").write_text("a file where the folder should be")
    with pytest.raises(PublishError, match="could not publish"):
        publish(sample_items(), [], settings, NOW)


# ------------------------------------------------------------------------ feed contents


def test_every_feed_parses_and_lists_each_item_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    items = sample_items()
    publish([*items, items[0]], [sample_bulletin()], settings, NOW)  # a duplicate too
    expected = {
        "all": {entry_id(i.key) for i in items},
        "cooperation": {entry_id(i.key) for i in items if "cooperation" in i.themes},
        "knowledge-society": {entry_id(i.key) for i in items if "knowledge-society" in i.themes},
        "culture": {entry_id(i.key) for i in items if "culture" in i.themes},
    }
    for path in feed_files(settings):
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, (path.name, parsed.get("bozo_exception"))
        ids = [e.id for e in parsed.entries]
        assert len(ids) == len(set(ids)), path.name
        if path.stem != "bulletins":
            assert set(ids) == expected[path.stem], path.name
        self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
        assert self_links == [f"{BASE}/feeds/{path.name}"]
        assert parsed.version == ("atom10" if path.suffix == ".atom" else "rss20")


def test_entry_ids_are_stable_across_recollection(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    publish(sample_items(), [], settings, NOW)
    first = [e.id for e in feedparser.parse(
        (settings.feeds_dir / "all.atom").read_bytes()).entries]
    recollected = [
        Item(**{**i.__dict__, "title": i.title + " (edited)", "summary_html": "<p>new</p>",
                "updated": NOW, "source_id": "other-source"})
        for i in sample_items()
    ]
    publish(recollected, [], settings, NOW + timedelta(hours=1))
    second = feedparser.parse((settings.feeds_dir / "all.atom").read_bytes()).entries
    assert [e.id for e in second] == first
    assert all(e.title.endswith("(edited)") for e in second)
    rss = feedparser.parse((settings.feeds_dir / "all.rss").read_bytes()).entries
    assert [e.id for e in rss] == first


def test_entry_id_rules() -> None:
    assert entry_id("https://cities.example.org/a") == "https://cities.example.org/a"
    digest = hashlib.sha1(b"tag:x,2019:1").hexdigest()
    assert entry_id("tag:x,2019:1") == f"urn:digest:item:{digest}"
    assert entry_id("https://bad url/with space").startswith("urn:digest:item:")


def test_entries_are_newest_first_and_limited(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, entries=3)
    items = [item(f"https://cities.example.org/n/{n}", n) for n in (5, 1, 4, 2, 3, 6)]
    publish(items, [], settings, NOW)
    for name in ("all.atom", "all.rss", "cooperation.atom", "cooperation.rss"):
        parsed = feedparser.parse((settings.feeds_dir / name).read_bytes())
        assert [e.link for e in parsed.entries] == [items[i].link for i in (1, 3, 4)], name


def test_categories_published_and_updated(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    edited = NOW - timedelta(hours=2)
    items = [item("https://cities.example.org/news/1", 1, ("cooperation", "knowledge-society"),
                  updated=edited)]
    publish(items, [], settings, NOW)
    atom = feedparser.parse((settings.feeds_dir / "all.atom").read_bytes()).entries[0]
    terms = {(t.term, t.get("scheme"), t.get("label")) for t in atom.tags}
    assert terms == {("cooperation", None, "Cooperation"),
                     ("knowledge-society", None, "Knowledge society"),
                     ("news", KIND_SCHEME, "News")}
    assert atom.published_parsed[:6] == items[0].published.timetuple()[:6]
    assert atom.updated_parsed[:6] == edited.timetuple()[:6]
    rss = feedparser.parse((settings.feeds_dir / "all.rss").read_bytes()).entries[0]
    assert {t.term for t in rss.tags} == {"Cooperation", "Knowledge society", "News"}
    assert rss.published_parsed[:6] == items[0].published.timetuple()[:6]
    # Raw XML: timestamps carry their offset.
    root = ElementTree.parse(settings.feeds_dir / "all.atom").getroot()
    published = root.find(f"{ATOM}entry/{ATOM}published")
    assert published is not None and published.text == "2019-03-17T08:00:00+00:00"


def test_events_mention_dates_and_place(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    timed = EventInfo(datetime(2019, 4, 2, 7, 30, tzinfo=UTC), datetime(2019, 4, 2, 15, tzinfo=UTC))
    items = [
        item("ev-1", 1, kind=Kind.EVENT, summary="<p>Lab.</p>",
             event=EventInfo(date(2019, 3, 20), date(2019, 3, 22), "Brussels & Ghent")),
        item("ev-2", 2, kind=Kind.EVENT, summary="", event=timed),
    ]
    publish(items, [], settings, NOW)
    root = ElementTree.parse(settings.feeds_dir / "all.atom").getroot()
    summaries = [e.findtext(f"{ATOM}summary") or "" for e in root.iter(f"{ATOM}entry")]
    # Dates read as in the emails (one format, digest.dates), not the US way.
    assert "20–22 March 2019" in summaries[0]
    assert "Brussels &amp; Ghent" in summaries[0]
    assert summaries[0].endswith("<p>Lab.</p>")
    # Times are shown in the site's zone (Europe/Brussels, UTC+2 in April).
    assert "2 April 2019, 09:30–17:00 (CEST)" in summaries[1]


def test_hostile_title_is_escaped_and_summary_kept_as_given(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    title = "Fish & chips <script>alert('x')</script> \"quoted\" ]]> \x00\x0b end"
    summary = '<p onclick="x()">Kept <b>as</b> given &amp; escaped in XML</p><![CDATA[ x ]]>'
    publish([item("https://cities.example.org/h", 1, title=title, summary=summary)],
                  [], settings, NOW)
    clean_title = title.replace("\x00", "").replace("\x0b", "")
    for name in ("all.atom", "cooperation.atom"):
        raw = (settings.feeds_dir / name).read_bytes()
        assert b"<script>" not in raw
        root = ElementTree.fromstring(raw)
        entry = root.find(f"{ATOM}entry")
        assert entry is not None
        assert entry.findtext(f"{ATOM}title") == clean_title
        assert entry.findtext(f"{ATOM}summary") == summary
        assert feedparser.parse(raw).bozo == 0
    for name in ("all.rss", "cooperation.rss"):
        raw = (settings.feeds_dir / name).read_bytes()
        root = ElementTree.fromstring(raw)
        assert root.findtext("channel/item/title") == clean_title
        assert root.findtext("channel/item/description") == summary
        assert feedparser.parse(raw).bozo == 0


def test_item_without_link_gets_content(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    publish([item("note-1", 1, link=None, summary="<p>Body</p>")], [], settings, NOW)
    entry = feedparser.parse((settings.feeds_dir / "all.atom").read_bytes()).entries[0]
    assert entry.content[0].value == "<p>Body</p>"
    assert entry.id == entry_id("note-1")


# ------------------------------------------------------------------------ bulletins


def test_bulletins_feed_has_pdf_enclosure(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    entry = sample_bulletin()
    publish(sample_items(), [entry], settings, NOW)
    raw = (settings.feeds_dir / "bulletins.atom").read_bytes()
    links = ElementTree.fromstring(raw).findall(f"{ATOM}entry/{ATOM}link")
    enclosures = [link.attrib for link in links if link.get("rel") == "enclosure"]
    assert enclosures == [{"href": entry.pdf_url, "rel": "enclosure",
                           "type": "application/pdf", "length": "48213"}]
    terms = {"bulletins.atom": {"cooperation", "bulletin"},  # RSS has only the labels
             "bulletins.rss": {"Cooperation", "Bulletins"}}
    for name in ("bulletins.atom", "bulletins.rss"):
        parsed = feedparser.parse((settings.feeds_dir / name).read_bytes())
        assert parsed.bozo == 0, name
        (found,) = parsed.entries
        assert found.title == entry.bulletin.title
        assert found.link == entry.web_url
        assert found.enclosures == [{"href": entry.pdf_url, "type": "application/pdf",
                                     "length": "48213"}], name
        assert "Dear colleagues" in found.summary
        assert {t.term for t in found.tags} == terms[name]
        # The whole bulletin, not only its outline: every section's heading and text.
        (content,) = (part.value for part in found.content)
        assert "Dear colleagues" in content
        for section in entry.bulletin.sections:
            assert f"<h2>{section.title}</h2>" in content and section.body_html in content


# ------------------------------------------------------------------------ OPML and index


def test_opml_lists_every_feed_once_in_atom(tmp_path: Path) -> None:
    """Importing the OPML subscribes once to each feed: the Atom form, never its RSS twin."""
    settings = make_settings(tmp_path)
    paths = publish(sample_items(), [sample_bulletin()], settings, NOW)
    root = ElementTree.parse(settings.feeds_dir / "index.opml").getroot()
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Social Affairs Forum: feeds"
    outlines = root.findall("body/outline")
    urls = [o.get("xmlUrl", "") for o in outlines]
    written = {f"{BASE}/feeds/{p.stem}" for p in paths if p.suffix in (".atom", ".rss")}
    assert sorted(urls) == sorted(f"{stem}.atom" for stem in written)
    assert {o.get("text") for o in outlines} == {o.get("title") for o in outlines}
    for outline in outlines:
        assert outline.get("type") == "rss"
        assert outline.get("title") and outline.get("text")
        assert outline.get("htmlUrl") == f"{BASE}/"
    titles = {o.get("title") for o in outlines}
    assert "Social Affairs Forum: Knowledge society" in titles


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.alternates: list[dict[str, str | None]] = []
        self.anchors: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("rel") == "alternate":
            self.alternates.append(values)
        if tag == "a":
            self.anchors.append(values.get("href"))


def test_index_page_has_autodiscovery_links(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, 50, **{"a-b": "Rock & Roll <live>"})
    publish(sample_items(), [], settings, NOW)
    text = (settings.feeds_dir / "index.html").read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(text)
    catalogue = feed_catalogue(settings)
    assert [a["href"] for a in parser.alternates] == [f.url for f in catalogue]
    for alternate, feed in zip(parser.alternates, catalogue, strict=True):
        expected = "application/atom+xml" if feed.name.endswith(".atom") \
            else "application/rss+xml"
        assert alternate["type"] == expected
    assert "Rock &amp; Roll &lt;live&gt;" in text
    assert {f.url for f in catalogue} <= set(parser.anchors)
    assert f"{BASE}/feeds/index.opml" in parser.anchors


# ------------------------------------------------------------------------ refusals


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(PublishError):
        publish([], [], settings, datetime(2019, 3, 18))
    naive = Item(key="k", kind=Kind.NEWS, title="t", link=None, summary_html="",
                 published=datetime(2019, 3, 1), themes=(), source_id="s")
    with pytest.raises(PublishError, match="naive"):
        publish([naive], [], settings, NOW)


def test_theme_named_like_a_fixed_feed_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, all="All of it")
    with pytest.raises(PublishError, match="'all'"):
        publish([], [], settings, NOW)


def test_control_characters_in_links_do_not_stop_publishing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    odd = item("https://cities.example.org/odd", 1, link="https://cities.example.org/a\x00b",
               title="\x01")
    publish([odd], [], settings, NOW)
    parsed = feedparser.parse((settings.feeds_dir / "all.atom").read_bytes())
    assert parsed.bozo == 0
    assert parsed.entries[0].link == "https://cities.example.org/ab"
    assert parsed.entries[0].title == "(untitled)"


def test_a_key_no_iri_may_hold_is_no_entry_id() -> None:
    for key in ("https://e.org/a{b}", "https://e.org/a|b", "https://e.org/a^b",
                "https://e.org/a`b", "https://e.org/a\\b"):
        assert entry_id(key).startswith("urn:digest:item:"), key


def test_an_entry_is_never_dated_after_its_item_was_first_seen(tmp_path: Path) -> None:
    """A misdated item keeps its place in time: the entry's published date is when the item
    was first seen, when that is earlier than the date its source gave."""
    seen = NOW - timedelta(days=3)
    misdated = replace(item("misdated", days_ago=-365 * 70), first_seen=seen)
    settings = make_settings(tmp_path)
    publish([*sample_items(), misdated], [], settings, NOW)
    feed = feedparser.parse((settings.feeds_dir / "all.atom").read_bytes())
    entries = {entry.title: entry for entry in feed.entries}
    year, month, day, hour, minute, second = entries["Title of misdated"].published_parsed[:6]
    assert datetime(year, month, day, hour, minute, second, tzinfo=UTC) == seen.replace(
        microsecond=0)
    assert feed.entries[0].title != "Title of misdated"


def test_many_files_are_written_only_where_they_changed(tmp_path: Path) -> None:
    """The feeds are written together (their folder synced once): an unchanged feed keeps
    its file and time, a changed or new one is replaced whole, no temporary file is left."""
    from digest.files import write_all_if_changed

    same, changed, new = tmp_path / "a.atom", tmp_path / "b.atom", tmp_path / "sub" / "c.rss"
    same.write_bytes(b"same")
    changed.write_bytes(b"before")
    os.utime(same, (1_000_000, 1_000_000))
    written = write_all_if_changed([(same, b"same"), (changed, b"after"), (new, b"new")])
    assert written == [changed, new]
    assert (same.read_bytes(), changed.read_bytes(), new.read_bytes()) == (
        b"same", b"after", b"new")
    assert same.stat().st_mtime == 1_000_000
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.atom", "b.atom", "c.rss", "sub"]
