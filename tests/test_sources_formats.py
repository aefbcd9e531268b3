"""Formats and rules added for the real web: RSS 0.9x, JSON Feed, recurring events, keyword
themes and defaults, hostile XML made safe, broken text repaired."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from digest.clock import FixedClock
from digest.config import SourceSettings
from digest.errors import SourceError
from digest.models import Item, Kind, Theme
from digest.sources import Poll, poll_source
from digest.sources.clean import ThemeMapper, repair_text, sanitize_html
from digest.sources.guard import defuse_xml, repair_utf8
from digest.sources.jsonfeed import MAX_DEPTH as MAX_JSON_DEPTH
from digest.testing import build_settings

NOW = datetime(2019, 3, 18, 8, 0, tzinfo=UTC)
CLOCK = FixedClock(NOW)


CONFIGURED_THEMES: dict[str, str | dict[str, object]] = {
    "cooperation": "Cooperation",
    "housing": {"title": "Housing", "keywords": ["affordable homes", "tenants"]},
    "economy": {"title": "Economy", "keywords": ["jobs"]},
}


def poll(tmp_path: Path, name: str, content: bytes | str, type_: str = "feed",
         settings: dict[str, Any] | None = None, **source: Any) -> Poll:
    data = content.encode() if isinstance(content, str) else content
    (tmp_path / name).write_bytes(data)
    configured = build_settings(tmp_path, themes=CONFIGURED_THEMES, **(settings or {}))
    return poll_source(SourceSettings.model_validate(
        {"id": "src", "type": type_, "url": name, **source}), configured, CLOCK)


def items(result: Poll) -> list[Item]:
    assert result.error is None, result.error
    return list(result.items or ())


# ---------------------------------------------------------------- RSS 0.9x


@pytest.mark.parametrize("version", ["0.91", "0.92"])
def test_rss_09x(tmp_path: Path, version: str) -> None:
    doctype = ('<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
               '"http://my.netscape.com/publish/formats/rss-0.91.dtd">' if version == "0.91"
               else "")
    (item,) = items(poll(tmp_path, "old.rss", f"""<?xml version="1.0"?>{doctype}
<rss version="{version}"><channel><title>Old</title><link>https://example.org/</link>
<description>d</description><language>en</language>
<item><title>An old &amp; plain item</title><link>https://example.org/old</link>
<description>Text &lt;b&gt;bold&lt;/b&gt;</description></item></channel></rss>"""))
    assert item.title == "An old & plain item"
    assert item.key == item.link == "https://example.org/old"
    assert item.summary_html == "<p>Text <b>bold</b></p>"
    assert item.published == NOW


# ---------------------------------------------------------------- JSON Feed


JSON_FEED = """{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "City news", "home_page_url": "https://city.example.org/",
  "feed_url": "https://city.example.org/feed.json",
  "items": [
    {"id": "https://city.example.org/a?utm_source=json", "url": "/news/a",
     "title": "Affordable   homes for\\nall", "content_html": "<p>x<script>y()</script></p>",
     "date_published": "2019-03-14T10:00:00Z", "date_modified": "2019-03-15T10:00:00Z",
     "tags": ["Cooperation", "case study"]},
    {"id": 42, "content_text": "A note without a title, about jobs.\\n\\nSecond line",
     "date_published": "2019-03-16"},
    {"id": "urn:x:3", "external_url": "https://elsewhere.example.org/b", "summary": "S"},
    {"id": "4"},
    "not an item"
  ]
}"""


def test_json_feed_1_1(tmp_path: Path) -> None:
    first, second, third = items(poll(tmp_path, "feed.json", JSON_FEED))
    assert first.key == "https://city.example.org/a"  # the id, a URL, canonical
    assert first.link == "https://city.example.org/news/a"  # relative to feed_url
    assert first.title == "Affordable homes for all"
    assert first.summary_html == "<p>x</p>"
    assert first.kind is Kind.CASE_STUDY
    assert first.themes == ("cooperation", "housing")  # a tag, then a keyword
    assert first.published == datetime(2019, 3, 14, 10, tzinfo=UTC)
    assert first.updated == datetime(2019, 3, 15, 10, tzinfo=UTC)
    assert second.key == "guid:src:42" and second.link is None
    assert second.title == "A note without a title, about jobs. Second line"
    assert second.summary_html == "<p>A note without a title, about jobs.</p><p>Second line</p>"
    assert second.themes == ("economy",)
    assert second.published == datetime(2019, 3, 16, tzinfo=UTC)
    assert third.key == "urn:x:3" and third.link == "https://elsewhere.example.org/b"
    assert third.title == "S"  # id "4" has nothing a reader could see: dropped


def test_json_feed_1_0_is_read(tmp_path: Path) -> None:
    (item,) = items(poll(tmp_path, "f.json", '{"version": "https://jsonfeed.org/version/1",'
                                             ' "items": [{"id": "1", "title": "T"}]}'))
    assert item.title == "T"


def test_json_feed_text_is_repaired(tmp_path: Path) -> None:
    (item,) = items(poll(tmp_path, "f.json", '{"version": "https://jsonfeed.org/version/1",'
                         ' "items": [{"id": "1", "title": "A\\u0000B\\ud800C\\u0092s",'
                         ' "content_text": "x\\u0007y"}]}'))
    assert item.title == "ABC\u2019s"  # lone surrogate dropped, C1 read as cp1252
    assert item.summary_html == "<p>xy</p>"


def test_json_feed_not_a_feed(tmp_path: Path) -> None:
    result = poll(tmp_path, "f.json", '{"version": "https://example.org/other", "items": []}')
    assert result.error is not None and "not a JSON Feed" in result.error


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_json_nested_too_deep_is_named_in_our_words(tmp_path: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    deep = opening * 100_000 + "1" + closing * 100_000
    result = poll(tmp_path, "f.json", '{"version": "https://jsonfeed.org/version/1", '
                  f'"items": [], "_x": {deep}}}')
    assert result.error is not None
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in result.error
    assert "recursion" not in result.error


def test_json_brackets_inside_strings_do_not_count_as_nesting(tmp_path: Path) -> None:
    title = "[{\\\"" * 200
    (item,) = items(poll(tmp_path, "f.json", '{"version": "https://jsonfeed.org/version/1",'
                         f' "items": [{{"id": "1", "title": "{title}", "_x": '
                         f'{"[" * (MAX_JSON_DEPTH - 3)}{"]" * (MAX_JSON_DEPTH - 3)}}}]}}'))
    assert item.title.startswith('[{"[{"')


# ---------------------------------------------------------------- recurring events


def calendar(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" + body
            + "END:VCALENDAR\r\n").replace("\n    ", "\n")


WEEKLY = """UID:weekly@example.org
    DTSTAMP:20190301T120000Z
    DTSTART;TZID=Europe/Brussels:20190304T100000
    DTEND;TZID=Europe/Brussels:20190304T110000
    RRULE:FREQ=WEEKLY;UNTIL=20190415T090000Z
    EXDATE;TZID=Europe/Brussels:20190325T100000
    SUMMARY:Weekly coordination call
    CATEGORIES:cooperation"""


def test_rrule_is_expanded_from_now_with_exdate_moves_and_cancellations(tmp_path: Path) -> None:
    moved = """UID:weekly@example.org
    RECURRENCE-ID;TZID=Europe/Brussels:20190401T100000
    DTSTART;TZID=Europe/Brussels:20190402T140000
    DTEND;TZID=Europe/Brussels:20190402T150000
    SUMMARY:Weekly coordination call (moved to Tuesday)"""
    cancelled = """UID:weekly@example.org
    RECURRENCE-ID;TZID=Europe/Brussels:20190408T100000
    DTSTART;TZID=Europe/Brussels:20190408T100000
    STATUS:CANCELLED
    SUMMARY:Weekly coordination call"""
    found = items(poll(tmp_path, "c.ics", calendar(WEEKLY, moved, cancelled), "ical"))
    starts = [(i.event.start if i.event else None, i.key, i.title) for i in found]
    assert starts == [
        # 4 and 11 March are over; 25 March is an EXDATE; 8 April cancelled; 15 April
        # is past UNTIL (09:00Z is 11:00 Brussels: the 10:00 call is the last one).
        (datetime(2019, 3, 18, 9, tzinfo=UTC), "uid:weekly@example.org#20190318T090000Z",
         "Weekly coordination call"),
        (datetime(2019, 4, 2, 12, tzinfo=UTC), "uid:weekly@example.org#20190401T080000Z",
         "Weekly coordination call (moved to Tuesday)"),
        (datetime(2019, 4, 15, 8, tzinfo=UTC), "uid:weekly@example.org#20190415T080000Z",
         "Weekly coordination call"),
    ]
    assert all(i.kind is Kind.EVENT for i in found)
    # An override stands for its occurrence whole: it has no CATEGORIES of its own here.
    assert [i.themes for i in found] == [("cooperation",), (), ("cooperation",)]


def test_the_first_occurrence_keeps_the_series_key(tmp_path: Path) -> None:
    series = """UID:monthly@example.org
    DTSTART;VALUE=DATE:20190401
    RRULE:FREQ=MONTHLY;COUNT=3
    SUMMARY:Monthly meeting"""
    keys = [i.key for i in items(poll(tmp_path, "c.ics", calendar(series), "ical"))]
    assert keys == ["uid:monthly@example.org", "uid:monthly@example.org#20190501",
                    "uid:monthly@example.org#20190601"]


def test_recurring_events_stop_at_events_ahead(tmp_path: Path) -> None:
    series = """UID:daily@example.org
    DTSTART:20190318T090000Z
    RRULE:FREQ=DAILY
    SUMMARY:Daily"""
    found = items(poll(tmp_path, "c.ics", calendar(series), "ical",
                       settings={"collect": {"events_ahead": "7d"}}))
    assert len(found) == 7  # 18 to 24 March at 09:00Z; the 25th is past now + 7 days


def test_a_series_too_costly_to_expand_is_skipped_with_a_message(tmp_path: Path) -> None:
    bomb = """UID:bomb@example.org
    DTSTART:20190101T000000Z
    RRULE:FREQ=SECONDLY
    SUMMARY:Every second"""
    single = """UID:one@example.org
    DTSTART;VALUE=DATE:20190401
    SUMMARY:One day"""
    result = poll(tmp_path, "c.ics", calendar(bomb, single), "ical")
    assert [i.title for i in items(result)] == ["One day"]
    (problem,) = result.problems
    assert "bomb@example.org" in problem and "recurs too often" in problem


def test_a_cancelled_series_gives_nothing(tmp_path: Path) -> None:
    cancelled = WEEKLY + "\nSTATUS:CANCELLED"
    assert items(poll(tmp_path, "c.ics", calendar(cancelled), "ical")) == []


# ---------------------------------------------------------------- themes


THEMES = [Theme("cooperation", "Cooperation"),
          Theme("housing", "Housing", keywords=("affordable homes", "Tenants")),
          Theme("economy", "Economy", keywords=("jobs", "C++"))]


@pytest.mark.parametrize(
    ("text", "themes"),
    [("New AFFORDABLE\n  Homes in Lyon", ("housing",)),
     ("Tenants' rights", ("housing",)),
     ("Jobs, jobs, jobs", ("economy",)),
     ("Learning C++ at school", ("economy",)),
     ("Jobseekers and subtenants", ("default",)),  # whole words only
     ("affordable and homes", ("default",)),
     ("Tenants find jobs", ("housing", "economy"))],
)
def test_keyword_rules_match_whole_words_in_any_case(text: str, themes: tuple[str, ...],
                                                     ) -> None:
    mapper = ThemeMapper(THEMES, default=["default"])
    assert mapper.themes_for([], (), text) == themes


def test_categories_come_first_then_keywords_then_source_then_default() -> None:
    mapper = ThemeMapper(THEMES, default=["cooperation"])
    assert mapper.themes_for(["Economy"], ["housing"], "tenants") == ("economy", "housing")
    assert mapper.themes_for(["unknown"], ["housing"], "nothing here") == ("housing",)
    assert mapper.themes_for(["unknown"], [], "nothing here") == ("cooperation",)
    assert ThemeMapper(THEMES).themes_for([], [], "") == ()


def test_site_default_themes_reach_items_with_no_theme(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("---\ntitle: Nothing to place\n---\nBody\n")
    (notes / "b.md").write_text("---\ntitle: About jobs\n---\nBody\n")
    configured = build_settings(tmp_path, themes=CONFIGURED_THEMES,
                                site={"default_themes": ["cooperation"]})
    result = poll_source(SourceSettings.model_validate(
        {"id": "n", "type": "folder", "path": "notes"}), configured, CLOCK)
    assert [i.themes for i in items(result)] == [("cooperation",), ("economy",)]


# ---------------------------------------------------------------- guard and repair


def test_defuse_removes_an_internal_subset_and_keeps_an_external_doctype() -> None:
    bomb = b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "aaaa">\n]>\n<rss>&a;</rss>'
    assert defuse_xml(bomb) == b'<?xml version="1.0"?>\n\n<rss>&a;</rss>'
    netscape = (b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD'
                b' RSS 0.91//EN" "http://my.netscape.com/rss-0.91.dtd"><rss/>')
    assert defuse_xml(netscape) == netscape


@pytest.mark.parametrize(
    "document",
    [b'<?xml version="1.0"?><!ENTITY a "x"><rss>&a;</rss>',
     b'<!DOCTYPE r [<!ENTITY a "]>"><!ENTITY b "&a;&a;">]><r>&b;</r>',
     b'<!DOCTYPE r [<!ENTITY a "x">',
     '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "x">]><r/>'.encode(
         "utf-16")],
)
def test_defuse_refuses_what_it_cannot_cut_out(document: bytes) -> None:
    with pytest.raises(SourceError, match=r"entit|DOCTYPE"):
        defuse_xml(document)


def test_defuse_drops_control_characters_but_not_in_utf16() -> None:
    assert defuse_xml(b"<r>a\x00b\x0cc\td\ne</r>") == b"<r>abc\td\ne</r>"
    wide = "<r>a</r>".encode("utf-16")
    assert defuse_xml(wide) == wide


ILLEGAL_REFERENCES = ["&#xD800;", "&#xdfff;", "&#55296;", "&#0;", "&#x1;", "&#x1F;", "&#xFFFE;",
                      "&#xFFFF;", "&#x110000;", "&#99999999999;", "&#x0000000000001;"]


@pytest.mark.parametrize("reference", ILLEGAL_REFERENCES)
def test_defuse_drops_references_to_characters_xml_forbids(reference: str) -> None:
    kept = "<r>&#x9;&#10;&#xD;&#x20;&#xD7FF;&#xE000;&#xFFFD;&#x10000;&#x10FFFF;&#0065;</r>"
    assert defuse_xml(kept.encode()) == kept.encode()
    assert defuse_xml(f"<r>a{reference}b</r>".encode()) == b"<r>ab</r>"


@pytest.mark.parametrize("reference", ILLEGAL_REFERENCES)
@pytest.mark.parametrize("field", ["title", "description", "link", "category", "author",
                                   "enclosure"])
def test_a_reference_xml_forbids_loses_no_item_of_the_feed(tmp_path: Path, reference: str,
                                                           field: str) -> None:
    """Before, feedparser's lenient parser stopped on ``&#xD800;`` (or past U+10FFFF) and
    the whole source failed: one hostile entry lost the others."""
    parts = {"title": "Bad title", "description": "Bad text", "link": "https://e.org/bad",
             "category": "cooperation", "author": "x@e.org (Bad author)",
             "enclosure": "https://e.org/bad.mp3"}
    parts[field] = parts[field].replace("Bad", f"Bad{reference}").replace(
        "bad", f"bad{reference}")
    hostile = (f"<item><title>{parts['title']}</title><link>{parts['link']}</link>"
               f"<description>{parts['description']}</description>"
               f"<category>{parts['category']}</category><author>{parts['author']}</author>"
               f"<enclosure url=\"{parts['enclosure']}\" type=\"audio/mpeg\" length=\"1\"/>"
               "<pubDate>Thu, 14 Mar 2019 10:00:00 +0000</pubDate></item>")
    good = ("<item><title>Good</title><link>https://e.org/good</link>"
            "<pubDate>Thu, 14 Mar 2019 11:00:00 +0000</pubDate></item>")
    feed = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>F'
            f"</title><link>https://e.org/</link>{hostile}{good}</channel></rss>")
    got = items(poll(tmp_path, "f.rss", feed))
    assert [item.title for item in got] == ["Bad title", "Good"]
    assert got[0].link == "https://e.org/bad" and got[0].summary_html == "<p>Bad text</p>"


MALFORMED_URLS = ["https://[::1/x", "http://[evil.example.net]/", "//[::1/x", "https://[v1.x/"]


@pytest.mark.parametrize("url", MALFORMED_URLS)
@pytest.mark.parametrize("where", ["link", "id", "href", "src", "xml:base", "feed base"])
def test_a_url_that_cannot_be_read_loses_no_item_of_the_feed(tmp_path: Path, url: str,
                                                              where: str) -> None:
    """``urlsplit`` raises ValueError on a malformed host: one such URL in an entry stopped
    the reading of its whole source ("unexpected ValueError: Invalid IPv6 URL")."""
    link = url if where == "link" else "bad"
    guid = url if where == "id" else "urn:bad"
    href = url if where == "href" else "more"
    src = url if where == "src" else "i.png"
    base = f' xml:base="{url}"' if where == "xml:base" else ""
    home = url if where == "feed base" else "https://e.org/"
    feed = (f'<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><id>urn:f</id>'
            f'<link href="{home}"/><updated>2019-03-14T10:00:00Z</updated>'
            f"<entry><title>Bad</title><id>{guid}</id><link href=\"{link}\"/>"
            f"<updated>2019-03-14T10:00:00Z</updated><content type=\"html\"{base}>"
            f"&lt;a href=\"{href}\"&gt;read&lt;/a&gt; &lt;img src=\"{src}\" alt=\"pic\"&gt;"
            f"</content></entry><entry><title>Good</title><id>urn:good</id>"
            f'<link href="https://e.org/good"/><updated>2019-03-14T11:00:00Z</updated></entry>'
            "</feed>")
    got = items(poll(tmp_path, "f.atom", feed))
    assert [item.title for item in got] == ["Bad", "Good"]
    assert "[" not in (got[0].link or "") and "[" not in got[0].summary_html


@pytest.mark.parametrize("url", MALFORMED_URLS)
@pytest.mark.parametrize("base", [None, "https://e.org/news/", "https://[e.org/"])
def test_sanitised_html_keeps_no_url_that_cannot_be_read(url: str, base: str | None) -> None:
    """Kept without a base, ``//[::1/x`` made the PDF of its edition fail ("Invalid IPv6
    URL"): the item was left out of every form of the edition."""
    cleaned = sanitize_html(f'<p><a href="{url}">read</a> <img src="{url}" alt="pic"> '
                            '<a href="more">more</a></p>', base)
    assert "[" not in cleaned and ">read<" in cleaned and ">more<" in cleaned, cleaned


def test_repair_utf8_only_touches_documents_meant_as_utf8() -> None:
    assert repair_utf8(b"caf\xc3\xa9 \x93q\x94") == "café “q”".encode()
    declared = b'<?xml version="1.0" encoding="iso-8859-1"?><r>caf\xe9</r>'
    assert repair_utf8(declared) == declared
    assert repair_utf8(b"<r>caf\xe9</r>", "text/xml; charset=iso-8859-1") == b"<r>caf\xe9</r>"
    assert repair_utf8(b"<r>caf\xe9</r>", "text/xml; charset=utf-8") == "<r>café</r>".encode()


def test_repair_text() -> None:
    assert repair_text("it\x92s \x81x\x00y\ud800z\ufffe") == "it\u2019s xyz"


def test_event_dates_survive_date_only_rrules(tmp_path: Path) -> None:
    series = """UID:days@example.org
    DTSTART;VALUE=DATE:20190320
    DTEND;VALUE=DATE:20190322
    RRULE:FREQ=MONTHLY;COUNT=2
    SUMMARY:Two-day forum"""
    first, second = items(poll(tmp_path, "c.ics", calendar(series), "ical"))
    assert first.event is not None and second.event is not None
    assert (first.event.start, first.event.end) == (date(2019, 3, 20), date(2019, 3, 21))
    assert (second.event.start, second.event.end) == (date(2019, 4, 20), date(2019, 4, 21))


def test_an_override_without_its_series_is_a_single_event(tmp_path: Path) -> None:
    orphan = """UID:invite@example.org
    RECURRENCE-ID;TZID=Europe/Brussels:20190401T100000
    DTSTART;TZID=Europe/Brussels:20190402T100000
    SUMMARY:The one meeting we were invited to"""
    (item,) = items(poll(tmp_path, "c.ics", calendar(orphan), "ical"))
    assert item.key == "uid:invite@example.org"
    assert item.event is not None and item.event.start == datetime(2019, 4, 2, 8, tzinfo=UTC)


def test_a_series_that_cannot_be_read_is_skipped_and_the_rest_kept(tmp_path: Path) -> None:
    broken = """UID:broken@example.org
    RRULE:FREQ=WEEKLY
    SUMMARY:No start"""
    single = """UID:one@example.org
    DTSTART;VALUE=DATE:20190401
    SUMMARY:One day"""
    result = poll(tmp_path, "c.ics", calendar(broken, single), "ical")
    assert [i.title for i in items(result)] == ["One day"]
    (problem,) = result.problems
    assert "broken@example.org" in problem and "skipped" in problem
