"""What uvicorn and h11 would answer by themselves, answered with the app's error pages.

uvicorn writes its own plain text where the app cannot answer: bytes that are not HTTP (a
malformed request line or header, a TLS hello on the plain port, a bad chunk, an unknown
``Transfer-Encoding``, headers still arriving past ``MAX_HEADER_BYTES``: h11's
``RemoteProtocolError``) get "Invalid HTTP request received."; a request while
``MAX_CONNECTIONS`` are open gets "Service Unavailable" (an app that fails, or returns
without answering, gets ``errors.ServerErrors``' page, around the whole app). A visitor
must only ever see the product's page (``web.errors``: in their language, WCAG 2.1 AA), so
``PagedH11Protocol`` answers each with it: the status h11 hints (400; 431 for headers too
long; 501 for a transfer coding it does not know), 503; in the language of the
``Accept-Language`` line among the request's first bytes when one can be read (else the
site's); with ``Content-Length``, ``no-store``, the security headers and the connection
closed, as uvicorn closes it. Its log line names the reason and at most 48 bytes of the
request line, escaped, each path cut after its first segment and the query dropped
(``/u/...``: no token, no address), instead of uvicorn's line that says none of that.

No WebSocket protocol is loaded (``ws="none"`` in ``server``), so an upgrade request is
answered as plain HTTP by the app, never by a WebSocket library's own text.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any, ClassVar

import h11
from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
from starlette.types import Receive, Scope, Send

from digest.web.headers import SECURITY_HEADERS
from digest.web.limits import MAX_HEADER_BYTES, Page, TimedH11Protocol

log = logging.getLogger("digest.web")

_ACCEPT_LANGUAGE = re.compile(rb"(?im)^accept-language[ \t]*:[ \t]*([!-~ \t]{1,200}?)[ \t]*\r?$")
_QUERY = re.compile(rb"\?\S*")
_AFTER_FIRST_SEGMENT = re.compile(rb"(/[^/\s]+)/\S+")  # /u/<token>, http://host/u/<token>
_DATA = re.compile(r":\s*(?:bytearray\()?b['\"]")  # where h11 quotes the bytes it refused


class _Replaced(logging.Filter):
    """uvicorn's "Invalid HTTP request received.": ``send_400_response`` logs a line that
    says which status, why and what came (uvicorn's says none of it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Invalid HTTP request received."


class _Connection(h11.Connection):
    """h11's connection, keeping the error it raised: its hint says 400, 431 or 501."""

    error: h11.RemoteProtocolError | None = None

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as exc:
            self.error = exc
            raise


def page_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    """The headers of an error page answered outside the app (which adds its own)."""
    return [(b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store"),
            (b"connection", b"close"), *SECURITY_HEADERS]


def request_snippet(head: bytes) -> str:
    """The start of the request line for a log line: bounded, escaped, no token."""
    line = head.split(b"\n", 1)[0].rstrip(b"\r")[:256]
    line = _AFTER_FIRST_SEGMENT.sub(rb"\1/...", _QUERY.sub(b"?...", line))
    return ascii(line[:48])[2:-1]


def scope_of(head: bytes) -> Scope:
    """A request's scope as far as its page needs one: its ``Accept-Language``, if any."""
    found = _ACCEPT_LANGUAGE.search(head)
    headers = [(b"accept-language", found.group(1))] if found else []
    return {"type": "http", "method": "GET", "path": "/", "root_path": "",
            "query_string": b"", "headers": headers}


class PagedH11Protocol(TimedH11Protocol):
    """``TimedH11Protocol`` whose own answers (400, 431, 501, 503) are ``page``'s."""

    pages: ClassVar[tuple[Page, ...]] = ()  # the one page function (``paged_protocol``)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = self.config.h11_max_incomplete_event_size
        self.conn = _Connection(h11.SERVER, limit or DEFAULT_MAX_INCOMPLETE_EVENT_SIZE)
        self._capacity = self.limit_concurrency
        self.limit_concurrency = None  # checked by ``_answer``, so its 503 is the page
        self._app = self.app
        self.app = self._answer
        self._head = b""  # a request's first bytes: its line and headers

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and len(self._head) < MAX_HEADER_BYTES:
            self._head = (self._head + data)[:MAX_HEADER_BYTES]
        super().data_received(data)

    def on_response_complete(self) -> None:
        self._head = b""
        super().on_response_complete()

    def _unsupported_upgrade_warning(self) -> None:
        """One line instead of uvicorn's two, whose second advises installing a library."""
        log.info("digest: an upgrade request (%s) was answered as plain HTTP",
                 ascii(self._get_upgrade() or b"")[2:-1][:40])

    def send_400_response(self, msg: str) -> None:
        """h11 refused the bytes: the page for its status hint, and the connection closed."""
        error = getattr(self.conn, "error", None)
        status = error.error_status_hint if error is not None else 400
        reason = _DATA.split(str(error or msg), maxsplit=1)[0][:80]
        log.warning("digest: answered %d to a request that is not valid HTTP (%s): %s",
                    status, reason, request_snippet(self._head))
        cycle = self.cycle
        if self.transport.is_closing():
            return
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:  # too late for a page: cut, as uvicorn would
                self.transport.close()
                return
            cycle.disconnected = True  # the app's answer, if it makes one, goes nowhere
            cycle.message_event.set()
        body = self.pages[0](scope_of(self._head), status)
        head = [b"HTTP/1.1 %d %s" % (status, HTTPStatus(status).phrase.encode()),
                *(name + b": " + value for name, value in [
                    *self.server_state.default_headers, *page_headers(body)])]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app, behind the connection limit (its failures: ``errors.ServerErrors``)."""
        if self._at_capacity():
            log.warning("digest: answered 503: %d connections are open, the most served",
                        self._capacity)
            await self._send_page(scope, send, 503)
            return
        await self._app(scope, receive, send)

    def _at_capacity(self) -> bool:
        """uvicorn's test, this request's own task counted: too many open or in progress."""
        limit = self._capacity
        return limit is not None and (len(self.connections) >= limit
                                      or len(self.tasks) > limit)

    async def _send_page(self, scope: Scope, send: Send, status: int) -> None:
        body = self.pages[0](scope, status)
        await send({"type": "http.response.start", "status": status,
                    "headers": page_headers(body)})
        await send({"type": "http.response.body", "body": body})


def paged_protocol(page: Page) -> type[PagedH11Protocol]:
    """``PagedH11Protocol`` answering with ``page`` (the app's ``errors.refusal_page``)."""

    class SitePagedH11Protocol(PagedH11Protocol):
        pages = (page,)

    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(kept, _Replaced) for kept in uvicorn_log.filters):
        uvicorn_log.addFilter(_Replaced())

    return SitePagedH11Protocol
