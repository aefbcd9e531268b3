"""What a server sends beyond the body is bounded too: header values kept for the next
poll, malformed headers told apart from a transfer cut short."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from digest.config import SourceSettings
from digest.sources import Poll, poll_source
from digest.sources.fetch import MAX_HEADER_VALUE
from digest.sources.policy import FetchPolicy
from digest.testing import build_settings
from tests.feed_server import FeedServer, Handler, Recorder, Route, feed_server, redirect
from tests.test_sources_http import CLOCK, FIXTURES, rss

HUGE = "x" * (MAX_HEADER_VALUE + 1)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


def poll(url: str, state: Any = None, sleep: Recorder | None = None) -> Poll:
    settings = build_settings(FIXTURES)
    policy = FetchPolicy.from_settings(settings, sleep=sleep or Recorder())
    source = SourceSettings.model_validate({"id": "remote", "type": "feed", "url": url})
    return poll_source(source, settings, CLOCK, state, policy=policy)


def headers_only(code: int, reason: str | None = None, **headers: str) -> Route:
    def route(handler: Handler) -> None:
        handler.send_response(code, reason)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


@pytest.mark.parametrize(("etag", "last_modified", "header"), [
    (f'"{HUGE}"', None, "ETag"), (None, HUGE, "Last-Modified")])
def test_an_oversized_validator_is_not_kept(server: FeedServer, etag: str | None,
                                            last_modified: str | None, header: str) -> None:
    server.feed("/v.rss", rss("One"), etag=etag, last_modified=last_modified)
    first = poll(server.url("/v.rss"))
    assert first.error is None and first.items is not None and len(first.items) == 1
    assert first.state.etag is None and first.state.last_modified is None
    assert any(f"its {header} header is over {MAX_HEADER_VALUE} characters" in problem
               for problem in first.problems), first.problems
    poll(server.url("/v.rss"), first.state)
    again = server.asked("/v.rss")[1].headers
    assert "If-None-Match" not in again and "If-Modified-Since" not in again


def test_an_oversized_validator_on_a_304_is_dropped(server: FeedServer) -> None:
    feed = server.feed("/n.rss", rss("One"))
    first = poll(server.url("/n.rss"))
    assert first.state.etag == '"v1"'
    server.routes["/n.rss"] = headers_only(304, ETag=HUGE)
    again = poll(server.url("/n.rss"), first.state)
    assert again.note == "not modified" and again.state.etag is None
    assert again.problems and "ETag header is over" in again.problems[0]
    assert feed.etag == '"v1"'


def test_an_oversized_redirect_target_is_refused(server: FeedServer) -> None:
    server.route("/moved", redirect(301, "/" + HUGE))
    result = poll(server.url("/moved"))
    assert result.error is not None
    assert f"redirects to an address over {MAX_HEADER_VALUE} characters" in result.error
    assert result.state.url is None


def test_a_long_reason_phrase_is_cut(server: FeedServer) -> None:
    server.route("/gone", headers_only(410, "G" * 5000))
    result = poll(server.url("/gone"))
    assert result.state.disabled is not None and len(result.state.disabled) < 400


def raw_server(response: bytes) -> Iterator[str]:
    """A socket that answers any request with ``response`` as is, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                connection.sendall(response)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed"
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nX-Pad: " + b"p" * 300_000 + b"\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n",
    b"HTTP/1.1 200 OK\r\nnot a header line\r\n",
], ids=["300 KB of headers", "bad Content-Length", "illegal header line"])
def test_malformed_headers_are_named_and_not_retried(head: bytes) -> None:
    waits = Recorder()
    for url in raw_server(head + b"\r\n" + rss("One")):
        result = poll(url, sleep=waits)
    assert result.error is not None
    assert "sent a malformed response: its headers are broken" in result.error
    assert "cut short" not in result.error and "buffer" not in result.error
    assert waits.waits == []


