"""``collect.max_items`` bounds what a poll *builds*, not only what it keeps: a calendar of
100 000 events, many series of hundreds of occurrences, a feed of 100 000 entries or a
folder of 100 000 files cost the items kept, and the rest are counted and reported.
Which items are kept is what a cut of everything built would keep."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from digest import yaml_loader
from digest.config import SourceSettings
from digest.sources import Poll, feed, ical, jsonfeed, poll_source, recurrence
from digest.testing import build_settings
from tests.test_sources_formats import CLOCK
from tests.test_sources_max_items import calendar, json_feed, rss

LIMIT = 3


def _poll(tmp_path: Path, name: str, content: str, type_: str,
          limit: int = LIMIT) -> Poll:
    (tmp_path / name).write_text(content)
    settings = build_settings(tmp_path, collect={"max_items": limit})
    source = SourceSettings.model_validate({"id": "src", "type": type_, "url": name})
    return poll_source(source, settings, CLOCK)


def _counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    """Count the calls of ``module.name`` (a list of one count, read after the poll)."""
    calls = [0]
    original: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def _series(uid: str, hour: int) -> str:
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:{uid}\r\nDTSTART:20190320T{hour:02}0000Z\r\n"
            "RRULE:FREQ=DAILY\r\nEND:VEVENT\r\n")


def _vcalendar(events: str) -> str:
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{events}END:VCALENDAR\r\n"


def test_a_calendar_builds_no_event_past_the_bound(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    built = _counting(monkeypatch, ical, "_item")
    result = _poll(tmp_path, "c.ics", calendar(7), "ical")
    assert result.items is not None
    assert [item.title for item in result.items] == ["T0", "T1", "T2"]  # the calendar's order
    assert built[0] == LIMIT
    assert result.problems == ("source 'src' (c.ics): 4 more events left out: one poll keeps "
                               f"at most {LIMIT} (collect.max_items)",)


def test_series_are_not_expanded_when_single_events_fill_the_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expanded = _counting(monkeypatch, recurrence, "_expand")
    singles = calendar(LIMIT).split("BEGIN:VEVENT", 1)[1].rsplit("END:VCALENDAR", 1)[0]
    content = _vcalendar("BEGIN:VEVENT" + singles + _series("daily", 10))
    result = _poll(tmp_path, "c.ics", content, "ical")
    assert result.items is not None and len(result.items) == LIMIT
    assert expanded[0] == 0
    assert result.problems == ("source 'src' (c.ics): 1 more recurring series left out: one "
                               f"poll keeps at most {LIMIT} (collect.max_items)",)


def test_occurrences_fill_what_single_events_leave_earliest_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = _counting(monkeypatch, ical, "_item")
    content = _vcalendar(_series("late", 18) + _series("early", 9))
    result = _poll(tmp_path, "c.ics", content, "ical")
    assert result.items is not None
    assert [(item.title, item.event.start.isoformat()) for item in result.items
            if item.event] == [("early", "2019-03-20T09:00:00+00:00"),
                               ("late", "2019-03-20T18:00:00+00:00"),
                               ("early", "2019-03-21T09:00:00+00:00")]
    assert built[0] == LIMIT
    [problem] = result.problems
    assert "more occurrences left out: one poll keeps at most 3" in problem


def test_many_series_expand_only_what_can_be_kept(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the earliest occurrences are held, a series is expanded only up to the latest
    of them: four daily series used to give 4 x 365 occurrences to keep 5."""
    monkeypatch.setattr(recurrence, "MAX_OCCURRENCES", 5)
    given: list[int] = []
    original = recurrence._expand

    def counted(*args: Any) -> list[Any]:
        found = original(*args)
        given.append(len(found))
        return found

    monkeypatch.setattr(recurrence, "_expand", counted)
    content = _vcalendar("".join(_series(f"s{hour}", hour) for hour in (20, 15, 10, 5)))
    result = _poll(tmp_path, "c.ics", content, "ical", limit=100)
    assert result.items is not None
    assert [(item.title, item.event.start.isoformat()[:13]) for item in result.items
            if item.event] == [("s5", "2019-03-20T05"), ("s10", "2019-03-20T10"),
                               ("s15", "2019-03-20T15"), ("s20", "2019-03-20T20"),
                               ("s5", "2019-03-21T05")]
    assert given[0] > 300 and sum(given[1:]) < 20, given
    assert result.problems == ("source 'src' (c.ics): over 5 occurrences of recurring events "
                               "in the window: kept the first 5",)


@pytest.mark.parametrize(("name", "content", "module"), [
    ("f.rss", rss(7), feed), ("f.json", json_feed(7), jsonfeed)], ids=["rss", "json-feed"])
def test_a_feed_reads_no_entry_past_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              name: str, content: str, module: object) -> None:
    read = _counting(monkeypatch, module, "_entry")
    result = _poll(tmp_path, name, content, "feed")
    assert result.items is not None and len(result.items) == LIMIT
    assert read[0] == LIMIT
    assert result.problems == (f"source 'src' ({name}): 4 more entries left out: one poll "
                               f"keeps at most {LIMIT} (collect.max_items)",)


def _folder(tmp_path: Path) -> Poll:
    settings = build_settings(tmp_path, collect={"max_items": LIMIT})
    source = SourceSettings.model_validate({"id": "n", "type": "folder", "path": "notes"})
    return poll_source(source, settings, CLOCK)


def test_hidden_files_and_folders_take_no_note_s_place(tmp_path: Path) -> None:
    """``.a.md`` (an editor's swap file) and a folder ``a.md`` are no notes: they took
    places under the bound, so a folder of hidden files left its notes out."""
    notes = tmp_path / "notes"
    (notes / "a.md" / "deep").mkdir(parents=True)
    (notes / "a.md" / "deep" / "inner.md").write_text("---\ntitle: Inner\n---\n")
    (notes / ".hidden.md").write_text("---\ntitle: Hidden\n---\n")
    for i in range(4):
        (notes / f"n{i}.md").write_text(f"---\ntitle: Note {i}\n---\nB\n")
    result = _folder(tmp_path)
    assert result.items is not None
    assert [item.title for item in result.items] == ["Note 0", "Note 1", "Note 2"]
    assert result.problems == (f"source 'n' (notes): 1 more notes left out: one poll keeps "
                               f"at most {LIMIT} (collect.max_items)",)


def test_huge_front_matter_is_refused_before_yaml_reads_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "big.md").write_text("---\ntitle: Big\n" + "".join(
        f"k{i}: value {i}\n" for i in range(64 * 1024 // 10)) + "---\nB\n")
    (notes / "fine.md").write_text("---\ntitle: Fine\n---\nB\n")
    parsed = _counting(monkeypatch, yaml_loader, "load")
    result = _folder(tmp_path)
    assert result.items is not None and [item.title for item in result.items] == ["Fine"]
    assert parsed[0] == 1
    assert result.problems == ("source 'n' (notes): big.md: unreadable front matter: over 64 KB "
                               "(the body goes after the closing ---)",)


def test_only_the_part_of_a_long_body_a_summary_can_show_is_rendered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A summary keeps 20 000 characters: a 10 MB body took 30 s and 900 MB to render.
    Link definitions past the cut still serve the links before it."""
    rendered: list[int] = []
    original = MarkdownIt.render

    def counted(self: MarkdownIt, text: str, env: Any = None) -> str:
        rendered.append(len(text))
        html: str = original(self, text, env)
        return html

    monkeypatch.setattr(MarkdownIt, "render", counted)
    notes = tmp_path / "notes"
    notes.mkdir()
    body = "See [the call][call].\n\n" + "Some *text* here.\n\n" * 60_000 + \
        "[call]: https://example.org/call\n"
    (notes / "long.md").write_text(f"---\ntitle: Long\n---\n{body}")
    result = _folder(tmp_path)
    assert result.items is not None
    [item] = result.items
    assert item.summary_html.startswith('<p>See <a href="https://example.org/call"')
    assert item.summary_html.endswith("<p>Some…</p>")
    assert rendered and max(rendered) < 110_000, rendered
