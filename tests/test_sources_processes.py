"""Feeds parsed in parsing processes (``collect.processes``) give exactly what the polling
threads give, and one feed that hangs or kills its process costs only that source."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.clock import FixedClock
from digest.config import SourceSettings
from digest.sources import Poll, poll_sources
from digest.sources.parsers import AUTO_FROM, HERE_SHARE, ParsingProcesses, processes_for
from digest.testing import build_settings
from tests.feed_server import Recorder, feed_server

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
CLOCK = FixedClock(datetime(2019, 3, 18, 8, 0, tzinfo=UTC))
THEMES: dict[str, str | dict[str, object]] = {
    "cooperation": "Cooperation",
    "knowledge-society": {"title": "Knowledge society", "keywords": ["inclusion"]},
}
JSON_FEED = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "J",
"home_page_url": "https://example.org/", "items": [{"id": "1", "url": "/a",
"title": "Json <b>one</b>", "content_html": "<p>social inclusion</p><script>x()</script>",
"tags": ["Cooperation"], "date_published": "2019-03-01T10:00:00Z"}]}"""


def feed_file(folder: Path, name: str, body: bytes) -> str:
    path = folder / name
    path.write_bytes(body)
    return str(path)


def rss(title: str) -> bytes:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://example.org/</link><description>d</description><item>"
            f"<title>{title}</title><link>https://example.org/{title}</link></item>"
            f"</channel></rss>").encode()


def sources(locations: list[str]) -> list[SourceSettings]:
    return [SourceSettings.model_validate({"id": f"s{n}", "type": "feed", "url": location,
                                           "themes": ["cooperation"] if n % 2 else []})
            for n, location in enumerate(locations)]


def polled(locations: list[str], processes: int) -> list[Poll]:
    configured = build_settings(FIXTURES, themes=THEMES, collect={"processes": processes})
    return list(poll_sources(sources(locations), configured, CLOCK, {}, sleep=Recorder()))


def test_processes_read_every_feed_as_the_threads_do(tmp_path: Path) -> None:
    locations = [str(FIXTURES / name) for name in
                 ("innovation.rss", "news.atom", "listing.rdf", "hostile.rss", "empty.rss",
                  "garbage.xml")] + [feed_file(tmp_path, "feed.json", JSON_FEED)]
    in_threads, in_processes = polled(locations, 1), polled(locations, 3)
    assert [p.error for p in in_processes] == [p.error for p in in_threads]
    assert in_threads[-2].error and "garbage" in in_threads[-2].error  # a failure, alike
    assert sum(len(p.items or ()) for p in in_threads) >= 9
    assert in_processes == in_threads  # items, problems, notes and states: all equal


def test_a_hanging_or_crashing_parse_costs_only_its_source(tmp_path: Path) -> None:
    locations = [feed_file(tmp_path, name, rss(name.removesuffix(".rss"))) for name in
                 ("HANG.rss", "first.rss", "CRASH.rss", "second.rss")]
    configured = build_settings(FIXTURES, themes=THEMES)
    parsers = ParsingProcesses(1, limit=2,
                               command=(sys.executable, "-m", "tests.parse_faults"))
    try:
        hang, first, crash, second = poll_sources(sources(locations), configured, CLOCK, {},
                                                  parsers=parsers)
    finally:
        parsers.close()
    assert hang.items is None and hang.error is not None
    assert "HANG.rss" in hang.error and "parsing took more than 2s" in hang.error
    assert crash.items is None and crash.error is not None
    assert "CRASH.rss" in crash.error and "process died (signal 9)" in crash.error
    for good, title in ((first, "first"), (second, "second")):  # a new process took over
        assert good.error is None and [i.title for i in good.items or ()] == [title]


def test_a_parser_that_cannot_start_fails_its_sources_only(tmp_path: Path) -> None:
    locations = [feed_file(tmp_path, "one.rss", rss("one"))]
    configured = build_settings(FIXTURES, themes=THEMES)
    parsers = ParsingProcesses(1, limit=5, command=(str(tmp_path / "no-such-python"),))
    try:
        (poll,) = poll_sources(sources(locations), configured, CLOCK, {}, parsers=parsers)
    finally:
        parsers.close()
    assert poll.error is not None and "cannot start a parsing process" in poll.error


@pytest.mark.parametrize(("wanted", "feeds", "threads", "expected"), [
    (1, 500, 8, 1),  # 1: parse in the polling threads alone
    (4, 3, 8, 3),  # never more processes than feeds
    (16, 100, 8, 8),  # nor than threads to hand them work
    (None, AUTO_FROM - 1, 8, 1),  # unset: a few feeds do not pay for starting a process
])
def test_how_many_processes(wanted: int | None, feeds: int, threads: int,
                            expected: int) -> None:
    assert processes_for(wanted, feeds, threads) == expected


def test_unset_means_one_per_cpu_for_many_feeds() -> None:
    cpus = os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
    assert processes_for(None, 1000, 64) == cpus


def test_a_parsing_process_imports_no_settings_client_or_database() -> None:
    code = ("import sys, digest.sources.parse_process, digest.sources.feed; "
            "print(' '.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    assert "feedparser" in loaded and "nh3" in loaded
    heavy = {"httpx", "pydantic", "sqlalchemy", "yaml", "digest.config", "digest.store",
             "digest.sources.fetch", "digest.sources.poll"}
    assert not heavy & loaded


def test_a_poll_where_every_feed_is_unchanged_starts_no_process(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    command = (sys.executable, "-c", f"open({str(marker)!r}, 'w')")
    configured = build_settings(FIXTURES, themes=THEMES)
    with feed_server() as server:
        listed = [SourceSettings.model_validate({"id": f"s{n}", "type": "feed",
                                                 "url": server.url(f"/{n}.rss")})
                  for n in range(3)]
        for n in range(3):
            server.feed(f"/{n}.rss", rss(f"t{n}"))
        first = list(poll_sources(listed, configured, CLOCK, {}))
        states = {poll.source_id: poll.state for poll in first}
        parsers = ParsingProcesses(2, limit=5, command=command)
        try:
            again = list(poll_sources(listed, configured, CLOCK, states, parsers=parsers))
        finally:
            parsers.close()
    assert [poll.note for poll in again] == ["not modified"] * 3
    assert not marker.exists()


def test_the_polling_process_parses_no_more_than_its_share(tmp_path: Path) -> None:
    feeds = 20
    locations = [feed_file(tmp_path, f"f{n}.rss", rss(f"f{n}")) for n in range(feeds)]
    configured = build_settings(FIXTURES, themes=THEMES)
    parsers = ParsingProcesses(1, limit=30, here=True,
                               command=(sys.executable, "-m", "tests.parse_faults"))
    try:
        polls = list(poll_sources(sources(locations), configured, CLOCK, {}, parsers=parsers))
    finally:
        parsers.close()
    assert all(poll.error is None and poll.items for poll in polls)
    here = sum(1 for poll in polls if not any("parsed apart" in p for p in poll.problems))
    assert here <= HERE_SHARE * feeds + 1
