"""Sources over HTTP, against a real server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from digest.clock import FixedClock
from digest.config import Settings, SourceSettings
from digest.errors import SourceError
from digest.models import Item
from digest.sources import collect_source
from digest.sources.fetch import MAX_BYTES

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
CLOCK = FixedClock(datetime(2019, 3, 18, 8, 0, tzinfo=UTC))
RELATIVE_RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Relative</title><link>/</link><description>d</description>
<item><title>One</title><link>items/1</link><description>&lt;a href="more"&gt;more&lt;/a&gt;
</description></item></channel></rss>"""


class Handler(BaseHTTPRequestHandler):
    """Serves the fixtures and a few misbehaviours; remembers the User-Agents it saw."""

    seen_agents: list[str] = []  # noqa: RUF012 (shared with the test on purpose)

    def do_GET(self) -> None:
        Handler.seen_agents.append(self.headers.get("User-Agent", ""))
        routes = {
            "/news.atom": (200, "application/atom+xml", (FIXTURES / "news.atom").read_bytes()),
            "/events.ics": (200, "text/calendar", (FIXTURES / "events.ics").read_bytes()),
            "/feeds/relative.rss": (200, "application/rss+xml; charset=utf-8", RELATIVE_RSS),
            "/garbage": (200, "application/xml", (FIXTURES / "garbage.xml").read_bytes()),
            "/error": (500, "text/plain", b"boom"),
            "/missing": (404, "text/html", b"<h1>Not found</h1>"),
        }
        if self.path == "/moved":
            self._redirect("/feeds/relative.rss")
        elif self.path.startswith("/loop"):
            self._redirect(f"/loop{len(self.path)}")
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(MAX_BYTES + 1))
            self.end_headers()
            self.wfile.write(b"<rss>")
        elif self.path == "/endless":  # no Content-Length: the cap must hold while reading
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(MAX_BYTES // len(chunk) + 2):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up at the cap, as it should
        elif self.path in routes:
            status, media_type, body = routes[self.path]
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def _redirect(self, target: str) -> None:
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests say what matters."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def settings() -> Settings:
    return Settings.model_validate({
        "site": {
            "title": "Forum",
            "base_url": "https://forum.example.org/digest",
            "timezone": "Europe/Brussels",
            "sender": {"name": "Forum", "address": "forum@example.org"},
        },
        "themes": {
            "cooperation": {"title": "Cooperation"},
            "knowledge-society": {"title": "Knowledge society"},
        },
        "config_path": FIXTURES / "schedules.yaml",
    })


def collect(url: str, type_: str = "feed", client: httpx.Client | None = None) -> list[Item]:
    source = SourceSettings.model_validate({"id": "remote", "type": type_, "url": url})
    return collect_source(source, settings(), CLOCK, client)


def test_feed_over_http_with_a_clear_user_agent(server: str) -> None:
    Handler.seen_agents.clear()
    items = collect(f"{server}/news.atom")
    assert [item.key for item in items] == [
        "https://www.example.org/news/turin-citizens-panel", "tag:example.org,2019:wg-ssi-glasgow"]
    assert items[0].source_id == "remote"
    assert items[0].themes == ("cooperation", "knowledge-society")
    assert Handler.seen_agents == ["forum-digest/0.1.0 (+https://forum.example.org/digest)"]


def test_calendar_over_http(server: str) -> None:
    items = collect(f"{server}/events.ics", "ical")
    assert len(items) == 4
    assert items[0].event is not None and items[0].event.end == date(2019, 3, 27)


def test_redirect_is_followed_and_relative_links_resolve_against_the_final_url(
    server: str,
) -> None:
    (item,) = collect(f"{server}/moved")
    assert item.link == f"{server}/feeds/items/1"
    assert f'href="{server}/feeds/more"' in item.summary_html


def test_an_injected_client_is_used(server: str) -> None:
    with httpx.Client(timeout=5, headers={"X-Test": "1"}) as client:
        (item,) = collect(f"{server}/feeds/relative.rss", client=client)
    assert item.title == "One"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/error", r"HTTP 500 Internal Server Error from http://127\.0\.0\.1:\d+/error"),
        ("/missing", "HTTP 404"),
        ("/loop", "more than 5 redirects"),
        ("/huge", "over the 10485760 limit"),
        ("/endless", "more than the 10485760 byte limit"),
        ("/garbage", "not a readable feed"),
    ],
)
def test_http_failures_are_source_errors(server: str, path: str, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        collect(f"{server}{path}")
    assert str(caught.value).startswith(f"source 'remote' ({server}{path}): ")


def test_connection_refused_is_a_source_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no server
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SourceError, match=r"source 'remote'.*cannot read.*ConnectError"):
        collect(f"http://127.0.0.1:{port}/feed.atom")


def test_an_invalid_url_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="source 'remote'"):
        collect("http://[::1/feed")
