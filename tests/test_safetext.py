"""What no collected text may carry, for every reader and every field, and the bounds on
each field (issue 9, parts 2 and 3: the rules in one place, ``digest.safetext`` and
``sources.clean.seal``; identity within a listing)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from digest.clock import FixedClock
from digest.config import SourceSettings
from digest.models import EventInfo, Item, Kind
from digest.safetext import safe_html, safe_line, safe_text
from digest.sources import Poll, poll_source
from digest.sources.clean import (
    KEY_LIMIT,
    LINK_LIMIT,
    LOCATION_LIMIT,
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    cut_html,
    link_identity,
    sanitize_html,
    seal,
)
from digest.testing import build_settings
from tests.test_poison import FORBIDDEN

CLOCK = FixedClock(datetime(2019, 3, 18, 8, 0, tzinfo=UTC))

# One of each kind of character that must go, and a few that must stay.
POISON = ("\x00\x01\x08\udfff\x0b\x0c\x0e\x1b\x1f\x7f\x81\x8d\ud800\ufdd0\ufdef\ufffe\uffff"
          "\U0001fffe\U0010ffff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# What YAML front matter can hold of it (YAML refuses controls and surrogates itself).
YAML_P = "\ufdd0\ufdef\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
KEPT = "é 😀 \u200f\u200e\u061c ‘ש’ Ω"


@pytest.mark.parametrize("char", list(POISON), ids=lambda c: f"U+{ord(c):04X}")
def test_every_unwanted_character_is_removed_as_text_and_as_a_reference(char: str) -> None:
    assert safe_text(f"a{char}b") == "ab"
    assert safe_line(f"a{char}b") == "ab"
    for reference in (f"&#{ord(char)};", f"&#x{ord(char):X};", f"&#x{ord(char):x}"):
        assert safe_html(f"<p>a{reference} z</p>") == "<p>a z</p>"


def test_what_is_kept() -> None:
    assert safe_text(KEPT + "\ttab\nline") == KEPT + "\ttab\nline"
    assert safe_text("split \ud83d\ude00 pair") == "split 😀 pair"  # joined, not dropped
    assert safe_text("it\x92s \x93q\x94") == "it’s “q”"  # C1 read as Windows-1252
    assert safe_text("a\r\nb\rc") == "a\nb\nc"
    assert safe_line(" a\u2028b\n\tc ") == "a b c"
    assert safe_html("&#233;&#x1F600;&amp;&#10;") == "&#233;&#x1F600;&amp;&#10;"
    assert safe_text(safe_text(POISON + KEPT)) == safe_text(POISON + KEPT) == KEPT


def test_cut_html_keeps_tags_whole_and_ends_with_an_ellipsis() -> None:
    paragraph = '<p>Some <a href="https://e.org/x" rel="noopener noreferrer">linked</a> ' \
                "text &amp; more</p>"
    long_html = sanitize_html(paragraph * 2000)
    for limit in range(300, 400):  # the cut falls inside tags, attributes, references
        cut = cut_html(long_html, limit)
        assert len(cut) <= limit + 40 and re.search("…(</[a-z]+>)+$", cut), cut[-60:]
        assert sanitize_html(cut) == cut  # balanced and clean as it is
    assert cut_html(paragraph) == paragraph


def item(**changes: Any) -> Item:
    base = Item(key="https://e.org/a", kind=Kind.EVENT, title="T", link="https://e.org/a",
                summary_html="<p>s</p>", published=CLOCK.now(), themes=(), source_id="src",
                event=EventInfo(start=CLOCK.now(), location="Hall"))
    return replace(base, **changes)


def test_seal_scrubs_and_bounds_every_field_and_is_idempotent() -> None:
    sealed = seal(item(
        key="tag:e.org,2019:" + "k" * 5000, title="Long " * 100_000 + POISON,
        link="https://e.org/" + "p" * LINK_LIMIT,
        summary_html="<p>" + "word " * 20_000 + POISON + "</p>",
        event=EventInfo(start=CLOCK.now(), location=("Hall\u202e " + POISON) * 100)))
    assert len(sealed.title) <= TITLE_LIMIT and sealed.title.endswith("…")
    assert len(sealed.summary_html) <= SUMMARY_LIMIT + 10
    assert sealed.summary_html.endswith("…</p>")
    assert sealed.event is not None and sealed.event.location is not None
    assert len(sealed.event.location) <= LOCATION_LIMIT
    assert sealed.link is None  # too long to be a real article's link
    assert sealed.key.startswith("sha256:") and len(sealed.key) <= KEY_LIMIT
    for text in (sealed.title, sealed.summary_html, sealed.event.location, sealed.key):
        assert not FORBIDDEN.search(text)
    assert seal(sealed) == sealed
    assert seal(item(link="javascript:alert(1)")).link is None


# What RFC 3987 lets an IRI hold (ASCII part): no space, ``"<>\\^`{|}``, brackets only
# around an IPv6 host.
IRI = re.compile(r"^https?://(\[[0-9a-fA-F:.]+\]|[^\s\"<>\\^`{|}\[\]/?#])*"
                 r"[^\s\"<>\\^`{|}\[\]]*$")


@pytest.mark.parametrize(("link", "expected"), [
    ('https://e.org/a b"c<d>e{f}|g^h`i\\j[k]',
     "https://e.org/a%20b%22c%3Cd%3Ee%7Bf%7D%7Cg%5Eh%60i%5Cj%5Bk%5D"),
    ("https://e.org/search?q=a b&x={y}#top bar", "https://e.org/search?q=a%20b&x=%7By%7D#top%20bar"),
    ("https://e.org/a\u2028b", "https://e.org/a%20b"),
    ("https://exämple.org/é?q=ü", "https://exämple.org/é?q=ü"),
    ("https://[::1]:8080/a", "https://[::1]:8080/a"),
    ("https://e.org/already%20encoded", "https://e.org/already%20encoded"),
    ("https://e.org:99999/a", None),
    ("https://e x.org/a", None),
    ("https://e.org{x}/a", None),
    ("https:/e.org/a", None),
    ("https://[::1/a", None),
])
def test_a_link_is_one_every_output_can_carry(link: str, expected: str | None) -> None:
    """A space (or ``<>"{}``...) in a source's link made the feeds' ``<link>`` and Atom
    ``href`` no URL, and cut the link short in the plain-text mail."""
    sealed = seal(item(link=link))
    assert sealed.link == expected
    assert sealed.link is None or IRI.match(sealed.link), sealed.link
    assert seal(sealed) == sealed


def poll(tmp_path: Path, name: str, content: str, type_: str = "feed") -> Poll:
    target = tmp_path / name
    if type_ == "folder":
        target.mkdir()
        (target / "note.md").write_text(content)
        (target / "other.md").write_text(content.replace("Note", "Other"))
    else:
        target.write_text(content)
    key = "path" if type_ == "folder" else "url"
    return poll_source(SourceSettings.model_validate(
        {"id": "src", "type": type_, key: name}), build_settings(tmp_path), CLOCK)


P = POISON.replace("\ud800", "").replace("\udfff", "")  # what a UTF-8 file can hold
JSON_P = json.dumps(POISON)[1:-1]  # JSON can hold lone surrogates as escapes

READERS = {
    "rss": ("f.rss", "feed", f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0">
<channel><title>C</title><link>https://e.org/</link><description>d</description>
<item><title>Note{P} &amp;#1;&amp;#x202E;x</title><link>https://e.org/a</link>
<description>&lt;p&gt;Body{P} &amp;amp;#1;&lt;/p&gt;</description>
<category>c{P}</category><author>a{P}@e.org</author></item></channel></rss>"""),
    "atom": ("f.atom", "feed", f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>C</title><id>urn:x</id>
<updated>2019-03-14T10:00:00Z</updated><entry><title type="html">Note{P} &amp;#1;</title>
<id>urn:e:1</id><link href="https://e.org/a"/><updated>2019-03-14T10:00:00Z</updated>
<content type="html">&lt;p&gt;Body{P} &amp;#x1b;&lt;/p&gt;</content></entry></feed>"""),
    "json": ("f.json", "feed", '{"version": "https://jsonfeed.org/version/1.1", "title": "C",'
             f' "items": [{{"id": "1", "url": "https://e.org/a", "title": "Note{JSON_P}",'
             f' "content_html": "<p>Body{JSON_P} &#1;</p>", "tags": ["c{JSON_P}"]}}]}}'),
    "ical": ("f.ics", "ical", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
             "BEGIN:VEVENT\r\nUID:1@e.org\r\nDTSTART:20190401T100000Z\r\n"
             f"SUMMARY:Note{P}\r\nDESCRIPTION:Body{P}\r\nLOCATION:Hall{P}\r\n"
             "END:VEVENT\r\nEND:VCALENDAR\r\n"),
    "folder": ("notes", "folder", f"---\ntitle: \"Note{YAML_P} &#1;\"\nstart: 2019-04-01\n"
               f"location: \"Hall{YAML_P}\"\n---\nBody{P} &#x202E;\n"),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_no_reader_lets_an_unwanted_character_through_any_field(tmp_path: Path,
                                                                reader: str) -> None:
    name, type_, content = READERS[reader]
    result = poll(tmp_path, name, content, type_)
    assert result.error is None and result.items, result.error or result.problems
    for found in result.items:
        fields = [found.key, found.title, found.link or "", found.summary_html,
                  (found.event.location or "") if found.event else ""]
        for text in fields:
            assert not FORBIDDEN.search(text), (reader, text)
            assert "&#1;" not in text and "&#x202E;" not in text.upper()
        assert found.title.startswith(("Note", "Other")) and "Body" in found.summary_html


def test_link_identity_rules() -> None:
    one = "https://city.example.org/news/lyon"
    for form in ("http://City.Example.org:80/news/lyon/", one + "?utm_source=x&fbclid=y",
                 one + "#comments", "HTTPS://city.example.org/news/lyon?gclid=1"):
        assert link_identity(form) == one
    assert link_identity(one + "?id=3&utm_medium=m") == one + "?id=3"
    assert link_identity("https://city.example.org/") is None  # a site's root: no article
    assert link_identity("https://city.example.org/?p=7") == "https://city.example.org/?p=7"
    assert link_identity("mailto:x@example.org") is None


def test_several_entries_sharing_a_link_or_guid_keep_their_own_keys(tmp_path: Path) -> None:
    calendar = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" + "".join(
        f"BEGIN:VEVENT\r\nUID:{n}@e.org\r\nDTSTART:2019040{n}T100000Z\r\nSUMMARY:Event {n}"
        "\r\nURL:https://e.org/agenda\r\nEND:VEVENT\r\n" for n in (1, 2)) + "END:VCALENDAR\r\n")
    events = poll(tmp_path, "f.ics", calendar, "ical").items or ()
    assert sorted(e.key for e in events) == ["uid:1@e.org", "uid:2@e.org"]
    assert all(e.link_key is None for e in events)
    notes = poll(tmp_path, "notes", "---\ntitle: Note\nlink: https://e.org/project\n---\nx\n",
                 "folder").items or ()
    assert sorted(n.key for n in notes) == ["file:src/note.md", "file:src/other.md"]
    single = poll(tmp_path, "one.ics", calendar.split("BEGIN:VEVENT\r\nUID:2")[0]
                  + "END:VCALENDAR\r\n", "ical").items or ()
    assert [e.key for e in single] == ["https://e.org/agenda"]
    assert [e.link_key for e in single] == ["https://e.org/agenda"]


def test_no_per_recipient_marker_survives_in_outside_text() -> None:
    from digest.models import PLACEHOLDERS
    from digest.safetext import MARKER

    for marker in PLACEHOLDERS.values():
        assert MARKER.search(marker), f"{marker} has a shape safetext does not defuse"
        for clean in (safe_text, safe_line, safe_html):
            out = clean(f'<img src="https://t.example/?{marker}"> {marker}')
            assert marker not in out and out.replace("\u2060", "").count(marker) == 2
            assert clean(out) == out
    assert safe_text("100%% sure, %%lower%%") == "100%% sure, %%lower%%"
    sealed = seal(item(title="Hi %%NAME%%", link="https://e.org/?u=%%UNSUBSCRIBE_URL%%",
                       summary_html="<p>%%EMAIL%%</p>"))
    for text in (sealed.title, sealed.link or "", sealed.summary_html):
        assert not any(marker in text for marker in PLACEHOLDERS.values())


def test_html_nested_deeper_than_the_limit_is_unwrapped_keeping_its_text() -> None:
    from digest.safetext import MAX_DEPTH

    deep = sanitize_html("<blockquote>" * 5000 + "<b>core</b>" + "</blockquote>" * 5000)
    kept = safe_html(deep)
    assert kept.count("<blockquote>") == MAX_DEPTH and "core" in kept
    assert sanitize_html(kept) == kept  # still balanced
    shallow = "<p><b>a</b> <i>b</i></p>" * 100  # many elements, none deep
    assert safe_html(shallow) == shallow
    assert seal(item(summary_html=deep)).summary_html.count("<blockquote>") <= MAX_DEPTH
