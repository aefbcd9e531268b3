"""One poll of one source keeps at most ``collect.max_items`` items, whatever reads it:
the rest are left out and reported as a problem of the source."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from digest.config import SourceSettings
from digest.sources import Poll, poll_source
from digest.sources.parsers import ParsingProcesses
from digest.sources.poll import fingerprint
from digest.testing import build_settings
from tests.test_sources_formats import CLOCK

LIMIT = 3
COUNT = 7


def rss(count: int) -> str:
    entries = "".join(f"<item><title>T{i}</title><link>https://example.org/{i}</link></item>"
                      for i in range(count))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
            f"<link>https://example.org/</link><description>d</description>{entries}"
            "</channel></rss>")


def json_feed(count: int) -> str:
    entries = ", ".join(f'{{"id": "{i}", "title": "T{i}"}}' for i in range(count))
    return f'{{"version": "https://jsonfeed.org/version/1.1", "items": [{entries}]}}'


def calendar(count: int) -> str:
    events = "".join(f"BEGIN:VEVENT\r\nUID:e{i}\r\nSUMMARY:T{i}\r\n"
                     f"DTSTART:2019040{i + 1}T100000Z\r\nEND:VEVENT\r\n" for i in range(count))
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{events}END:VCALENDAR\r\n"


def poll(tmp_path: Path, name: str, content: str, type_: str,
         parsers: ParsingProcesses | None = None) -> Poll:
    (tmp_path / name).write_text(content)
    settings = build_settings(tmp_path, collect={"max_items": LIMIT})
    source = SourceSettings.model_validate({"id": "src", "type": type_, "url": name})
    return poll_source(source, settings, CLOCK, parsers=parsers)


@pytest.mark.parametrize(("name", "content", "type_", "what"), [
    ("f.rss", rss(COUNT), "feed", "entries"),
    ("f.json", json_feed(COUNT), "feed", "entries"),
    ("c.ics", calendar(COUNT), "ical", "events"),
])
def test_a_source_past_max_items_keeps_the_first_and_reports_the_rest(
        tmp_path: Path, name: str, content: str, type_: str, what: str) -> None:
    result = poll(tmp_path, name, content, type_)
    assert result.error is None, result.error
    assert result.items is not None and len(result.items) == LIMIT
    assert [p for p in result.problems if "left out" in p] == [
        f"source 'src' ({name}): {COUNT - LIMIT} more {what} left out: one poll keeps at "
        f"most {LIMIT} (collect.max_items)"]


def test_the_bound_holds_in_a_parsing_process(tmp_path: Path) -> None:
    parsers = ParsingProcesses(1, limit=20)
    try:
        result = poll(tmp_path, "f.rss", rss(COUNT), "feed", parsers)
    finally:
        parsers.close()
    assert result.items is not None and len(result.items) == LIMIT
    assert any(f"{COUNT - LIMIT} more entries left out" in p for p in result.problems)


def test_a_folder_past_max_items_reads_only_the_first_notes(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(COUNT):
        (notes / f"n{i}.md").write_text(f"---\ntitle: Note {i}\npublished: 2019-03-1{i}\n---\nB\n")
    settings = build_settings(tmp_path, collect={"max_items": LIMIT})
    source = SourceSettings.model_validate({"id": "n", "type": "folder", "path": "notes"})
    result = poll_source(source, settings, CLOCK)
    assert result.items is not None
    assert [item.title for item in result.items] == ["Note 0", "Note 1", "Note 2"]
    assert result.problems == (f"source 'n' (notes): {COUNT - LIMIT} more notes left out: "
                               f"one poll keeps at most {LIMIT} (collect.max_items)",)


def test_under_the_bound_nothing_is_reported(tmp_path: Path) -> None:
    result = poll(tmp_path, "f.rss", rss(LIMIT), "feed")
    assert result.items is not None and len(result.items) == LIMIT
    assert result.problems == ()


@pytest.mark.parametrize("value", [0, -1, 100_001, "many", 2.5])
def test_max_items_is_validated(tmp_path: Path, value: object) -> None:
    with pytest.raises(ValidationError, match=r"max_items\n\s+Input should be"):
        build_settings(tmp_path, collect={"max_items": value})



def test_raising_max_items_reads_an_unchanged_feed_again(tmp_path: Path) -> None:
    """The bound shapes the items, so it is part of what drops the validators: a feed
    answering 304 would otherwise never give the entries a lower bound left out."""
    source = SourceSettings.model_validate({"id": "src", "type": "feed", "url": "f.rss"})
    now = CLOCK.now()
    low = fingerprint(source, build_settings(tmp_path, collect={"max_items": LIMIT}), now)
    assert low == fingerprint(source, build_settings(tmp_path, collect={"max_items": LIMIT}),
                              now)
    assert low != fingerprint(source, build_settings(tmp_path, collect={"max_items": COUNT}),
                              now)
