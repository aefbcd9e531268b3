"""Feeds, calendars and note folders read from real files through ``collect_source``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from digest.clock import FixedClock
from digest.config import SourceSettings
from digest.errors import SourceError
from digest.models import Item, Kind
from digest.sources import Poll, collect_source, poll_source
from digest.testing import build_settings

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
NOW = datetime(2019, 3, 18, 8, 0, tzinfo=UTC)
CLOCK = FixedClock(NOW)


THEMES: dict[str, str | dict[str, object]] = {
    "cooperation": "Cooperation",
    "knowledge-society": {"title": "Knowledge society", "aliases": ["knowledge society"]},
    "economy": "Economy",
    "culture": "Culture",
}


def source_of(type_: str, location: str, **extra: Any) -> SourceSettings:
    key = "path" if type_ == "folder" else "url"
    return SourceSettings.model_validate({"id": "src", "type": type_, key: location, **extra})


def collect(type_: str, location: str, base_dir: Path = FIXTURES, **extra: Any) -> list[Item]:
    configured = build_settings(base_dir, themes=THEMES)
    return collect_source(source_of(type_, location, **extra), configured, CLOCK)


def poll(type_: str, location: str, base_dir: Path = FIXTURES, **extra: Any) -> Poll:
    configured = build_settings(base_dir, themes=THEMES)
    return poll_source(source_of(type_, location, **extra), configured, CLOCK)


def assert_clean(items: list[Item]) -> None:
    """What every collected item promises the later stages."""
    for item in items:
        assert item.source_id == "src" and item.first_seen is None
        assert "\n" not in item.title and item.title == item.title.strip() and item.title
        for moment in (item.published, item.updated, item.event and item.event.start,
                       item.event and item.event.end):
            if isinstance(moment, datetime):
                assert moment.utcoffset() is not None and moment.tzinfo is UTC, moment
        assert "<script" not in item.summary_html


def by_title(items: list[Item]) -> dict[str, Item]:
    return {item.title: item for item in items}


# ---------------------------------------------------------------- feeds


def test_atom_with_xml_base_relative_link_categories_and_dates() -> None:
    items = collect("feed", "news.atom")
    assert_clean(items)
    turin, glasgow = items
    assert turin.title == "Turin citizens panel makes three recommendations on technology"
    assert turin.link == "https://www.example.org/news/turin-citizens-panel"
    assert turin.key == "https://www.example.org/news/turin-citizens-panel"
    assert 'href="https://www.example.org/news/report.pdf"' in turin.summary_html
    assert 'src="https://www.example.org/news/img/panel.jpg"' in turin.summary_html
    assert "Cities4Europe" in turin.summary_html  # the longer content, not the summary
    assert turin.kind is Kind.NEWS
    assert turin.themes == ("cooperation", "knowledge-society")
    assert turin.published == datetime(2019, 3, 4, 8, 30, tzinfo=UTC)
    assert turin.updated == datetime(2019, 3, 5, 11, 0, tzinfo=UTC)
    assert glasgow.kind is Kind.EVENT  # from its "event" category
    assert glasgow.key == "tag:example.org,2019:wg-ssi-glasgow"
    assert glasgow.themes == ()  # "unknown-category" is ignored, the source has no themes
    assert glasgow.published == datetime(2019, 2, 28, 8, 0, tzinfo=UTC)  # from <updated>


def test_rss2_guid_categories_and_content_encoded() -> None:
    items = by_title(collect("feed", "innovation.rss", themes=["economy"]))
    assert_clean(list(items.values()))
    turin = items["Turin citizens panel makes three recommendations on technology"]
    assert turin.key == "https://www.example.org/news/turin-citizens-panel"
    assert turin.themes == ("knowledge-society", "cooperation")
    assert turin.published == datetime(2019, 3, 4, 8, 30, tzinfo=UTC)
    bologna = items["Bologna - Let's do it together!"]
    assert bologna.kind is Kind.CASE_STUDY and bologna.themes == ("culture",)
    assert bologna.key == "https://www.example.org/case-studies/bologna"  # bare guid 4711
    assert "circular subsidiarity" in bologna.summary_html  # content:encoded is longer
    assert bologna.published == datetime(2019, 3, 14, 9, 0, tzinfo=UTC)
    agenda = items["EUROCITIES - city leaders agenda for Europe"]
    assert agenda.published == NOW  # no date in the feed
    assert agenda.themes == ("economy",)  # the source's themes when no category maps
    assert agenda.kind is Kind.NEWS
    orphan = items["An item with neither link nor guid"]
    assert orphan.link is None and orphan.key.startswith("sha256:")
    assert orphan.kind is Kind.CASE_STUDY  # "case_study"


def test_same_article_in_atom_and_rss_collapses_to_one_key() -> None:
    atom = {item.key for item in collect("feed", "news.atom")}
    rss = {item.key for item in collect("feed", "innovation.rss")}
    assert atom & rss == {"https://www.example.org/news/turin-citizens-panel"}


def test_source_kind_applies_when_no_category_names_one() -> None:
    items = by_title(collect("feed", "innovation.rss", kind="publication"))
    assert items["EUROCITIES - city leaders agenda for Europe"].kind is Kind.PUBLICATION
    assert items["Bologna - Let's do it together!"].kind is Kind.CASE_STUDY


def test_rss1_rdf() -> None:
    (item,) = collect("feed", "listing.rdf")
    assert_clean([item])
    assert item.title == "EUROCITIES launches new initiative of city pledges"
    assert item.key == item.link == "https://www.example.org/news/pledges"
    assert item.published == datetime(2019, 2, 22, 10, 0, tzinfo=UTC)
    assert item.themes == ("economy",)


def test_hostile_feed_is_made_inert() -> None:
    (item,) = collect("feed", "hostile.rss")
    assert item.title == "Breaking news on two lines & more"
    assert item.link is None  # a javascript: link is not a link
    html = item.summary_html
    for gone in ("script", "alert", "<style", "iframe", "frame text", "onerror", "onclick",
                 "javascript", "data:", 'rel="opener"', "target"):
        assert gone not in html, gone
    assert '<a href="https://ok.example.org/" rel="noopener noreferrer">ok link</a>' in html


UNREADABLE_LINKS = ["http://[::1/evil", "https://[bad", "http://host:port/x"]


@pytest.mark.parametrize("link", UNREADABLE_LINKS)
@pytest.mark.parametrize("kind", ["rss", "atom", "json"])
def test_an_entry_whose_link_cannot_be_read_costs_only_its_link(
        tmp_path: Path, kind: str, link: str) -> None:
    """``urlsplit`` raises for such a link: it failed the whole listing (every other entry
    lost), where one entry's link that is no link is as good as none."""
    documents = {
        "rss": ('<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
                f'<link>https://example.org/</link><item><title>Odd</title><link>{link}</link>'
                '</item><item><title>Fine</title><link>https://example.org/a</link></item>'
                '</channel></rss>'),
        "atom": ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
                 f'<id>urn:t</id><entry><title>Odd</title><id>{link}</id>'
                 f'<link href="{link}"/></entry><entry><title>Fine</title><id>urn:a</id>'
                 '<link href="https://example.org/a"/></entry></feed>'),
        "json": ('{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": ['
                 f'{{"id": "{link}", "title": "Odd", "url": "{link}", "content_text": "x"}},'
                 '{"id": "a", "title": "Fine", "url": "https://example.org/a",'
                 ' "content_text": "y"}]}'),
    }
    (tmp_path / "feed").write_text(documents[kind])
    items = by_title(collect("feed", "feed", tmp_path))
    assert set(items) == {"Odd", "Fine"}
    assert items["Odd"].link is None
    assert items["Fine"].link == "https://example.org/a"


def test_empty_feed_gives_no_items() -> None:
    assert collect("feed", "empty.rss") == []


def test_missing_file_is_a_source_error_naming_source_and_path() -> None:
    with pytest.raises(SourceError) as caught:
        collect("feed", "no-such.atom")
    message = str(caught.value)
    assert "'src'" in message and "no-such.atom" in message and "no such file" in message
    assert caught.value.exit_code == 1


@pytest.mark.parametrize("type_", ["feed", "ical"])
def test_garbage_file_is_a_source_error(type_: str) -> None:
    with pytest.raises(SourceError, match=r"source 'src' \(garbage.xml\): not a"):
        collect(type_, "garbage.xml")


def test_a_folder_given_as_a_feed_is_a_source_error() -> None:
    with pytest.raises(SourceError, match=r"src.*is a folder"):
        collect("feed", "notes")


# ---------------------------------------------------------------- iCalendar


def test_ical_events() -> None:
    listed = collect("ical", "events.ics", kind="event")
    items = by_title(listed)
    assert_clean(listed)
    assert "Cancelled meeting" not in items
    assert all(item.kind is Kind.EVENT and item.event for item in items.values())

    one_day = items["WG Smart Social Inclusion, Glasgow"]
    assert one_day.event is not None and one_day.event.all_day
    assert one_day.event.start == one_day.event.end == date(2019, 3, 27)  # DTEND exclusive
    assert one_day.event.location == "Glasgow"
    assert one_day.key == "uid:wg-ssi-glasgow@example.org"
    assert one_day.link is None
    assert one_day.themes == ("cooperation", "knowledge-society")
    assert one_day.summary_html == (
        "<p>We are pleased to invite you.</p><p>Register &lt;b&gt;now&lt;/b&gt; &amp; come.</p>"
    )
    assert one_day.published == datetime(2019, 2, 20, 9, 0, tzinfo=UTC)  # CREATED

    multi = items["Urban Academy on Integration - 21-22 May, Antwerp"]
    assert multi.event is not None
    assert (multi.event.start, multi.event.end) == (date(2019, 5, 21), date(2019, 5, 22))
    assert multi.key == "https://www.example.org/events/urban-academy"  # URL, canonical
    assert multi.link == "https://www.example.org/events/urban-academy?utm_campaign=x"
    assert multi.published == datetime(2019, 3, 1, 12, 0, tzinfo=UTC)  # DTSTAMP

    timed = items["Social Innovation Lab"]
    assert timed.event is not None and not timed.event.all_day
    assert timed.event.start == datetime(2019, 3, 27, 9, 0, tzinfo=UTC)  # 10:00 Brussels
    assert timed.event.end == datetime(2019, 3, 27, 11, 30, tzinfo=UTC)

    # No zone: the site's; DURATION; RRULE COUNT=3: one item per occurrence, the first
    # keeping the series' key.
    weekly = [item for item in listed if item.title == "Weekly call"]
    assert [(i.event and i.event.start, i.event and i.event.end, i.key) for i in weekly] == [
        (datetime(2019, 7, day, 7, 0, tzinfo=UTC), datetime(2019, 7, day, 8, 30, tzinfo=UTC),
         key) for day, key in ((10, "uid:floating@example.org"),
                               (17, "uid:floating@example.org#20190717T070000Z"),
                               (24, "uid:floating@example.org#20190724T070000Z"))]


ICS_HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"


def write_ics(tmp_path: Path, *lines: str) -> None:
    body = ICS_HEAD + "BEGIN:VEVENT\r\n" + "".join(f"{line}\r\n" for line in lines)
    (tmp_path / "c.ics").write_text(body + "END:VEVENT\r\nEND:VCALENDAR\r\n")


def test_ical_all_day_without_end_lasts_its_day_and_missing_stamp_uses_clock(
    tmp_path: Path,
) -> None:
    write_ics(tmp_path, "UID:x", "DTSTART;VALUE=DATE:20190401", "SUMMARY:Day")
    (item,) = collect("ical", "c.ics", tmp_path)
    assert item.event is not None and item.event.start == item.event.end == date(2019, 4, 1)
    assert item.published == NOW


def test_ical_utc_times_and_html_description(tmp_path: Path) -> None:
    write_ics(tmp_path, "UID:y", "DTSTART:20190401T080000Z", "DTEND:20190401T090000Z",
              "SUMMARY:Call", "X-ALT-DESC;FMTTYPE=text/html:<p>Hi <script>x()</script>"
              "<b>there</b></p>", "DESCRIPTION:Hi there")
    (item,) = collect("ical", "c.ics", tmp_path)
    assert item.event is not None
    assert item.event.start == datetime(2019, 4, 1, 8, tzinfo=UTC)
    assert item.event.end == datetime(2019, 4, 1, 9, tzinfo=UTC)
    assert item.summary_html == "<p>Hi <b>there</b></p>"


# ---------------------------------------------------------------- folder of notes


def test_folder_of_notes() -> None:
    items = collect("folder", "notes", themes=["culture"])
    assert_clean(items)
    assert [item.title for item in items] == [
        "Social Innovation Lab", "Report on inclusive cities", "A plain note"]
    lab, report, plain = items

    assert lab.kind is Kind.EVENT and lab.event is not None
    assert (lab.event.start, lab.event.end) == (date(2019, 3, 27), date(2019, 3, 28))
    assert lab.event.location == "Glasgow"
    assert lab.themes == ("cooperation", "knowledge-society")  # tags, through the aliases
    assert lab.key == "file:src/010-lab.md" and lab.link is None
    assert lab.published == datetime(2019, 2, 28, 23, 0, tzinfo=UTC)  # midnight in Brussels
    assert "<strong>Social Innovation Lab</strong>" in lab.summary_html
    assert "<li>Co-learning</li>" in lab.summary_html
    assert "&lt;script&gt;" in lab.summary_html  # raw HTML in Markdown stays text

    assert report.kind is Kind.PUBLICATION
    assert report.key == "https://www.example.org/publications/inclusive-cities"
    assert report.summary_html == "<p>A short summary &amp; more.</p>"
    assert report.published == datetime(2019, 3, 12, 8, 0, tzinfo=UTC)
    assert report.themes == ("culture",)  # the source's themes

    assert plain.kind is Kind.NEWS and plain.published == NOW
    assert '<a href="https://www.example.org/x" rel="noopener noreferrer">a link</a>' in (
        plain.summary_html)
    assert 'href="javascript' not in plain.summary_html


def test_a_note_without_title_is_skipped_and_reported_naming_the_file() -> None:
    result = poll("folder", "notes-untitled")
    assert result.error is None and result.items == ()
    (problem,) = result.problems
    assert problem.startswith("source 'src' (notes-untitled): a.md: ") and "title" in problem


def test_missing_folder_is_a_source_error() -> None:
    with pytest.raises(SourceError, match=r"src.*no such folder"):
        collect("folder", "no-such-folder")


@pytest.mark.parametrize(
    ("front_matter", "problem"),
    [
        ("title: T\nkind: gossip", "unknown kind 'gossip'"),
        ("title: T\npublished: 04-03-2019", "published: expected an ISO date"),
        ("title: T\nkind: event", "an event needs start"),
        ("title: T\nlink: /relative", "absolute http"),
        ("title: T\nstart: 2019-03-27\nend: 2019-03-28T10:00:00Z", "both be dates"),
        ("title: [not, text]", "title must be text"),
        ("title: T\nthemes: {a: 1}", "themes must be a list"),
        ("title: 'unclosed", "unreadable front matter"),
    ],
)
def test_a_bad_note_is_reported_and_skipped_and_the_others_are_read(
    tmp_path: Path, front_matter: str, problem: str
) -> None:
    (tmp_path / "bad.md").write_text(f"---\n{front_matter}\n---\nBody\n")
    (tmp_path / "good.md").write_text("---\ntitle: Good\n---\nBody\n")
    result = poll("folder", ".", tmp_path)
    assert result.error is None
    assert [item.title for item in result.items or ()] == ["Good"]
    (reported,) = result.problems
    assert "'src'" in reported and "bad.md" in reported and problem in reported


def test_note_with_timed_event_and_string_dates(tmp_path: Path) -> None:
    (tmp_path / "e.md").write_text(
        "---\ntitle: Call\nstart: '2019-04-01T10:00:00'\nend: 2019-04-01T11:00:00+02:00\n"
        "categories: Event, economy\n---\n")
    (item,) = collect("folder", ".", tmp_path)
    assert item.kind is Kind.EVENT and item.event is not None
    assert item.event.start == datetime(2019, 4, 1, 8, 0, tzinfo=UTC)
    assert item.event.end == datetime(2019, 4, 1, 9, 0, tzinfo=UTC)
    assert item.themes == ("economy",)
    assert item.summary_html == ""


# ---------------------------------------------------------------- the boundary


@pytest.mark.parametrize(
    ("type_", "name", "content"),
    [
        ("feed", "f.xml", b""),
        ("feed", "f.xml", b"<html><body>Login</body></html>"),
        ("feed", "f.xml", bytes(range(256)) * 4),
        ("feed", "f.xml", b"/etc/passwd"),
        ("feed", "f.xml", b'<?xml version="1.0" encoding="bogus"?><rss><channel>'),
        ("ical", "c.ics", b""),
        ("ical", "c.ics", bytes(range(256)) * 4),
        ("ical", "c.ics", b"BEGIN:VEVENT\r\nEND:VEVENT\r\n"),
        ("feed", "f.xml", b'{"version": "https://jsonfeed.org/version/1", "items": 3}'),
        ("feed", "f.xml", b'{"version": "https://jsonfeed.org/version/1", "items": '
         + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("feed", "f.xml", b'{"version": "https://example.org/", "items": []}'),
        ("feed", "f.xml", b"{not json"),
    ],
)
def test_no_third_party_exception_escapes(
    tmp_path: Path, type_: str, name: str, content: bytes
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceError, match="source 'src'"):
        collect(type_, name, tmp_path)


@pytest.mark.parametrize("bad", [
    "DTSTART:notadate",
    "SUMMARY:no start",
    "DTSTART:20190101T100000Z\r\nDURATION:xyz",
    "DTSTART;TZID=America/New_York:99991231T230000",  # year 10000 in UTC
    "DTSTART;TZID=Pacific/Kiritimati:00010101T000000",  # year 0 in UTC
    "DTSTART:99991231T230000Z\r\nDTEND:99991231T235959Z",  # year 10000 in Brussels
])
def test_one_unreadable_event_is_left_out_and_said_the_others_are_read(
        tmp_path: Path, bad: str) -> None:
    (tmp_path / "c.ics").write_text(
        ICS_HEAD + f"BEGIN:VEVENT\r\nUID:bad\r\n{bad}\r\nSUMMARY:bad one\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:good\r\nDTSTART;VALUE=DATE:20190320\r\nSUMMARY:good one\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n")
    result = poll("ical", "c.ics", tmp_path)
    found = result.items or ()
    assert "good one" in [item.title for item in found]
    kept_bad = [item for item in found if item.title == "bad one"]
    if kept_bad:  # readable after all: then its dates are usable ones, or none
        assert all(item.event is None or 1900 <= _year(item.event.start) <= 2199
                   for item in kept_bad)
    else:
        assert any("'bad' left out" in problem for problem in result.problems)


def _year(value: object) -> int:
    year = getattr(value, "year", 0)
    assert isinstance(year, int)
    return year


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe\x00bad utf-8",
        b"---\n- a list\n- not a mapping\n---\nbody",
        b"---\ntitle: T\nstart: 2019-02-30\n---\n",
        b"---\ntitle: !!python/object:os.system ls\n---\n",
    ],
)
def test_no_third_party_exception_escapes_a_note(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "n.md").write_bytes(content)
    result = poll("folder", ".", tmp_path)
    assert result.error is None and result.items == ()
    (problem,) = result.problems
    assert re.match(r"source 'src' \(\.\): n\.md:(\d+:)? ", problem), problem
    assert "unexpected" not in problem


# ---------------------------------------------------------------- the shipped sample


def test_sample_sources_collect_cleanly() -> None:
    root = Path(__file__).parent.parent
    from digest.config import load_settings

    config = root / "schedules.yaml"
    settings = load_settings(config) if (root / "sample" / "feeds").is_dir() else None
    if settings is None or not all(
        settings.resolve(s.location).exists() for s in settings.sources
    ):
        pytest.skip("the sample content is not there yet")
    items: dict[str, list[Item]] = {
        source.id: collect_source(source, settings, CLOCK) for source in settings.sources
    }
    for source_items in items.values():
        assert source_items
        for item in source_items:
            assert "\n" not in item.title
            assert item.published.tzinfo is UTC
            assert set(item.themes) <= set(settings.themes)
    assert any(item.event for source_items in items.values() for item in source_items)
    keys_per_feed = [
        {item.key for item in items[source.id]}
        for source in settings.sources
        if source.type == "feed"
    ]
    shared = [a & b for i, a in enumerate(keys_per_feed) for b in keys_per_feed[i + 1:]]
    assert any(shared), "the sample feeds overlap (seed 002 repeats seed 000's articles)"


def test_an_entry_listed_twice_keeps_its_own_id_but_a_shared_one_is_no_identity() -> None:
    """The same entry repeated (as seed 002 repeats Utrecht's pledge) is one entry whose
    guid still names it; one guid or link given to different entries names none of them."""
    from digest.sources.clean import shared_identifiers

    page = "https://example.org/latest/utrecht"
    repeated = [(page, page, "Utrecht signs a pledge"), (page, page, "Utrecht  signs a pledge")]
    assert shared_identifiers(repeated) == frozenset()
    home = "https://example.org/"
    different = [("1", home, "WG meeting in Glasgow"), ("2", home, "Call for cities")]
    assert shared_identifiers(different) == {home}
    reused_guid = [("x", "https://example.org/a", "A"), ("x", "https://example.org/b", "B")]
    assert "x" in shared_identifiers(reused_guid)


def test_content_links_resolve_against_the_entrys_own_xml_base(tmp_path: Path) -> None:
    (tmp_path / "based.atom").write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:base="https://www.example.org/news/"><title>T</title><id>tag:t</id>'
        '<link href="https://www.example.org/"/><entry xml:base="https://other.example.org/x/">'
        "<title>Based</title><id>tag:t,1</id><link href=\"a\"/><content type=\"html\">"
        '&lt;a href="rel"&gt;r&lt;/a&gt; &lt;img src="i.png" alt=""&gt;</content></entry>'
        "<entry><title>Feed based</title><id>tag:t,2</id><content type=\"html\">"
        '&lt;a href="rel"&gt;r&lt;/a&gt;</content></entry></feed>')
    based, feed_based = collect("feed", "based.atom", base_dir=tmp_path)
    assert based.link == "https://other.example.org/x/a"
    assert 'href="https://other.example.org/x/rel"' in based.summary_html
    assert 'src="https://other.example.org/x/i.png"' in based.summary_html
    assert 'href="https://www.example.org/news/rel"' in feed_based.summary_html
