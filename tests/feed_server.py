"""A real HTTP server on 127.0.0.1 that serves feeds and misbehaves on purpose.

Each test registers what a path does (``FeedServer.feed``, ``.script``, ``.route``) and
reads back what the server was asked (``requests``), so a test can say "the second poll
cost one 304" by looking at the wire, not at timings. Misbehaviours are small functions
of the request handler: errors then recovery, 410, redirects and loops, a server that
sleeps past the read timeout, one that drips bytes, a body cut short, an endless body, a
gzip bomb, an entity bomb and garbage.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[["Handler"], None]


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]


@dataclass
class Feed:
    """A document served with validators, answering conditional requests with 304."""

    body: bytes
    media_type: str = "application/rss+xml"
    etag: str | None = '"v1"'
    last_modified: str | None = formatdate(1552896000, usegmt=True)  # 2019-03-18 08:00Z
    encoding: str | None = None  # "gzip" or "deflate": sent compressed

    def serve(self, handler: Handler) -> None:
        asked_etag = handler.headers.get("If-None-Match")
        asked_since = handler.headers.get("If-Modified-Since")
        if self.etag and asked_etag:
            unchanged = asked_etag == self.etag
        elif self.last_modified and asked_since:
            unchanged = (parsedate_to_datetime(asked_since)
                         >= parsedate_to_datetime(self.last_modified))
        else:
            unchanged = False
        if unchanged:
            handler.send_response(304)
            self._validators(handler)
            handler.end_headers()
            return
        body = self.body
        if self.encoding == "gzip":
            body = gzip.compress(body)
        elif self.encoding == "deflate":
            body = zlib.compress(body)
        handler.send_response(200)
        handler.send_header("Content-Type", self.media_type)
        if self.encoding:
            handler.send_header("Content-Encoding", self.encoding)
        self._validators(handler)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _validators(self, handler: Handler) -> None:
        if self.etag:
            handler.send_header("ETag", self.etag)
        if self.last_modified:
            handler.send_header("Last-Modified", self.last_modified)


class Handler(BaseHTTPRequestHandler):
    server: FeedServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.enter(Seen(self.path, dict(self.headers.items())))
        try:
            route = self.server.routes.get(self.path)
            if route is None:
                self.send_plain(404, b"not found")
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should at a cap or a deadline
        finally:
            self.server.leave()

    # ----- the pieces routes are made of

    def send_plain(self, status: int, body: bytes, media_type: str = "text/plain",
                   **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, status: int, target: str) -> None:
        self.send_response(status)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests say what matters."""


class FeedServer(ThreadingHTTPServer):
    """The server, its routes, the requests it saw and the most it served at once."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def enter(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def asked(self, path: str) -> list[Seen]:
        """The requests for one path, in order."""
        return [seen for seen in self.requests if seen.path == path]

    # ----- registering routes

    def route(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def feed(self, path: str, body: bytes, **options: object) -> Feed:
        served = Feed(body, **options)  # type: ignore[arg-type]
        self.routes[path] = served.serve
        return served

    def script(self, path: str, *steps: Route) -> str:
        """Answer the n-th request with the n-th step (the last one repeats)."""
        remaining = list(steps)

        def next_step(handler: Handler) -> None:
            step = remaining.pop(0) if len(remaining) > 1 else remaining[0]
            step(handler)

        return self.route(path, next_step)


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---------------------------------------------------------------- misbehaviours


def status(code: int, **headers: str) -> Route:
    return lambda handler: handler.send_plain(code, f"HTTP {code}".encode(), **headers)


def serve(feed: Feed) -> Route:
    return feed.serve


def redirect(code: int, target: str) -> Route:
    return lambda handler: handler.redirect(code, target)


def sleep_then(seconds: float, then: Route) -> Route:
    """A server that thinks longer than the client's read timeout before answering."""

    def route(handler: Handler) -> None:
        time.sleep(seconds)
        then(handler)

    return route


def drip(total_seconds: float, every: float = 0.05) -> Route:
    """Headers at once, then one byte every ``every`` seconds: never a read timeout."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        handler.wfile.write(b"<")
        stop = time.monotonic() + total_seconds
        while time.monotonic() < stop:
            time.sleep(every)
            handler.wfile.write(b" ")
            handler.wfile.flush()
        handler.close_connection = True

    return route


def drip_headers(total_seconds: float, every: float = 0.05) -> Route:
    """The status line at once, then one header line every ``every`` seconds, each well
    within the read timeout; then an empty feed. Stops when the client hangs up."""

    def route(handler: Handler) -> None:
        handler.close_connection = True
        try:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            stop = time.monotonic() + total_seconds
            while time.monotonic() < stop:
                handler.wfile.write(b"X-Padding: slow\r\n")
                handler.wfile.flush()
                time.sleep(every)
            handler.wfile.write(b"Content-Type: application/rss+xml\r\n"
                                b"Content-Length: 0\r\n\r\n")
        except OSError:
            pass

    return route


def truncated(body: bytes) -> Route:
    """Announces the whole body, sends half of it, and closes the connection."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        handler.close_connection = True

    return route


def endless(chunk: int = 65536, most: int = 64 * 1024 * 1024) -> Route:
    """No Content-Length, and more bytes than any cap (closes the connection at the end)."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/xml")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        block = b" " * chunk
        for _ in range(most // chunk):
            handler.wfile.write(block)

    return route


def announces(size: int) -> Route:
    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/xml")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        handler.close_connection = True

    return route


def gzip_bomb(inflated: int) -> Route:
    """A few kilobytes of gzip that inflate to ``inflated`` bytes of zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(inflated // len(block))]
    body = b"".join(parts) + compressor.flush()

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def body(data: bytes, media_type: str = "application/rss+xml") -> Route:
    return lambda handler: handler.send_plain(200, data, media_type)


@dataclass
class Recorder:
    """A sleep that does not sleep: it records the back-off the fetcher asked for."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
