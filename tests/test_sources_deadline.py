"""``collect.deadline`` bounds the whole poll, even while the headers drip in.

httpx's read timeout restarts at each read: a server that sends one header line every
50 ms never trips it, and before ``digest.sources.deadline`` such a poll waited for the
server (here 3 s past a 0.3 s deadline; hours within the headers httpcore accepts). The
tests assert the message, not a duration: before the fix the poll succeeded.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from digest.config import SourceSettings
from digest.sources import poll_sources
from digest.testing import build_settings
from tests.feed_server import FeedServer, drip_headers, feed_server
from tests.test_sources_http import CLOCK, FIXTURES, THEMES, poll, rss, source


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


def test_dripping_headers_are_cut_off_by_the_deadline(server: FeedServer) -> None:
    server.route("/headers", drip_headers(total_seconds=3))
    result = poll(server.url("/headers"), timeout="2s", deadline="0.3s", retries=0)
    assert result.error is not None
    assert "too slow: not read within the 0.3s deadline" in result.error
    assert result.items is None


def test_the_shared_client_of_many_polls_keeps_the_deadline_too(server: FeedServer) -> None:
    server.route("/headers", drip_headers(total_seconds=3))
    server.feed("/good.xml", rss("Kept"))
    settings = build_settings(FIXTURES, themes=THEMES,
                              collect={"timeout": "2s", "deadline": "0.3s", "retries": 0})
    sources = [source(server.url("/headers")),
               SourceSettings.model_validate({"id": "good", "type": "feed",
                                              "url": server.url("/good.xml")})]
    polls = {p.source_id: p for p in poll_sources(sources, settings, CLOCK, {})}
    slow = polls["remote"].error
    assert slow is not None and "not read within the 0.3s deadline" in slow
    assert [item.title for item in polls["good"].items or ()] == ["Kept"]
