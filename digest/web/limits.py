"""What one request may cost the process that also schedules and sends: bounded before read.

- ``RequestLimits`` (ASGI middleware): a body over ``MAX_BODY_BYTES`` (``MAX_UPLOAD_BYTES``
  for a POST to one of ``UPLOAD_PATHS``: the console's members CSV) gets 413 and the
  connection is closed, from its ``Content-Length`` before a byte is read, or, for a chunked
  body, as soon as the count passes the limit (nothing is buffered beyond one chunk); a
  client that goes away mid-request is one warning line, not a traceback. The console's
  bulletin editor alone may post up to ``EDITOR_BODY_BYTES`` (a whole bulletin).
- ``TimedH11Protocol`` (uvicorn's h11 protocol): a request's headers and body must arrive
  within ``REQUEST_TIMEOUT_SECONDS`` of the connection opening (or of the previous response),
  else the connection is closed, so trickling clients cannot hold connections open.
  Headers are capped at ``MAX_HEADER_BYTES``: while they arrive by h11 (431, the page of
  ``wire_pages``), and once parsed by ``RequestLimits`` (431), since h11 only bounds a
  request still incomplete.
  An answer the client stops reading is cut after ``WRITE_STALL_SECONDS`` without progress
  (the send buffer stayed full): a slow reader still gets everything, one that reads
  nothing (a large PDF asked for and never read) does not hold a connection for ever.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

import h11
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from digest.store.member_csv import MAX_CSV_BYTES

MAX_BODY_BYTES = 64 * 1024  # a preferences form is under 2 KB; one-click posts 26 bytes
# The members CSV the console imports (16 MB, as ``digest subscribers import``) and its form.
MAX_UPLOAD_BYTES = MAX_CSV_BYTES + 64 * 1024
UPLOAD_PATHS = ("/admin/members/import",)  # also under the base_url's path prefix
# The console's bulletin editor posts a whole bulletin (128 KB of Markdown at most, as
# multipart) with its front matter: only its own paths may send that much.
EDITOR_BODY_BYTES = 256 * 1024
_EDITOR_PATH = re.compile(r"/admin/bulletins/(?:new|[a-z0-9-]+/edit)(?:/preview)?$")
MAX_HEADER_BYTES = 16 * 1024
REQUEST_TIMEOUT_SECONDS = 10.0
# An answer the client stopped reading (the send buffer full, not drained for this long):
# the connection is cut, so clients that read nothing cannot hold every connection.
WRITE_STALL_SECONDS = 30.0
MAX_CONNECTIONS = 200  # beyond: 503, instead of memory and threads without end

log = logging.getLogger("digest.web")


class BodyTooLargeError(Exception):
    """A request body went past ``MAX_BODY_BYTES`` while it was being read."""


Page = Callable[[Scope, int], bytes]  # the HTML page of a refusal (``web.errors``)


class RequestLimits:
    """Bound every request body before it is read; turn a vanished client into one line.
    A refusal is ``page``'s HTML page when given (the app's), else a line of text."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES,
                 page: Page | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _header_bytes(scope) > MAX_HEADER_BYTES:
            await self._refuse(scope, send, 431)
            return
        limit = body_limit(scope, self.max_body)
        declared = _content_length(scope)
        if declared is None or declared > limit:
            await self._refuse(scope, send, 413 if declared is not None else 400)
            return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, watched_send)
        except BodyTooLargeError:
            if not started:
                await self._refuse(scope, send, 413)
        except ClientDisconnect:
            log.warning("digest: a client went away before its request was complete "
                        "(%s %s)", scope.get("method", "?"), shown_path(scope))

    async def _refuse(self, scope: Scope, send: Send, status: int) -> None:
        """A short answer that closes the connection, so an unread body is not read."""
        if self.page is not None:
            body, kind = self.page(scope, status), b"text/html; charset=utf-8"
        else:
            body, kind = _TEXTS[status], b"text/plain; charset=utf-8"
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", kind),
                                (b"content-length", str(len(body)).encode()),
                                (b"cache-control", b"no-store"),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def body_limit(scope: Scope, default: int = MAX_BODY_BYTES) -> int:
    """The most a request's body may hold: ``MAX_UPLOAD_BYTES`` for a POST to an upload
    route (the members CSV), more than ``default`` for the bulletin editor's forms,
    ``default`` for every other request."""
    path = str(scope.get("path", ""))
    if scope.get("method") == "POST" and path.endswith(UPLOAD_PATHS):
        return MAX_UPLOAD_BYTES
    return max(default, EDITOR_BODY_BYTES) if _EDITOR_PATH.search(path) else default


def shown_path(scope: Scope) -> str:
    """The request path for a log line, without the signed token that may follow /u/ or /p/."""
    path = str(scope.get("path", ""))
    for marker in ("/u/", "/p/"):
        head, found, _ = path.partition(marker)
        if found:
            return f"{head}{marker}…"
    return path[:200]


def _header_bytes(scope: Scope) -> int:
    """The size of the request line's target and headers, as h11 received them."""
    return len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) + sum(
        len(name) + len(value) + 4 for name, value in scope.get("headers", []))


def _content_length(scope: Scope) -> int | float | None:
    """The declared body size; 0 when there is none (chunked or empty); None when malformed."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else None
    return 0


_TEXTS = {413: b"Request body too large\n", 400: b"Bad request\n",
          431: b"Request headers too large\n"}


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on receiving each whole request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._stalled: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            self._disarm()  # the whole request is in: the app may take its time to answer

    def on_response_complete(self) -> None:
        if self.conn.their_state is h11.SEND_BODY:
            # Answered before the body was read (a bad token, 413): close rather than
            # receive and throw away whatever the client still sends.
            self.server_state.total_requests += 1
            self.transport.close()
            return
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this kept-alive connection has its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._unstall()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        self._unstall()
        self._stalled = self.loop.call_later(WRITE_STALL_SECONDS, self._not_reading)

    def resume_writing(self) -> None:
        self._unstall()
        super().resume_writing()

    def _unstall(self) -> None:
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _not_reading(self) -> None:
        """Cut the connection: ``close`` would wait to send a buffer nobody reads."""
        self._stalled = None
        log.info("digest: cut a connection whose client read nothing of its answer for %gs",
                 WRITE_STALL_SECONDS)
        self.transport.abort()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(REQUEST_TIMEOUT_SECONDS, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            return  # the request is complete and being answered
        if not self.transport.is_closing():
            log.info("digest: closed a connection whose request did not arrive within "
                     "%gs", REQUEST_TIMEOUT_SECONDS)
            self.transport.close()
