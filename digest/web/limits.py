"""What one request may cost the process that also schedules and sends: bounded before read.

- ``RequestLimits`` (ASGI middleware): a body over ``MAX_BODY_BYTES`` gets 413 and the
  connection is closed, from its ``Content-Length`` before a byte is read, or, for a chunked
  body, as soon as the count passes the limit (nothing is buffered beyond one chunk); a
  client that goes away mid-request is one warning line, not a traceback.
- ``TimedH11Protocol`` (uvicorn's h11 protocol): a request's headers and body must arrive
  within ``REQUEST_TIMEOUT_SECONDS`` of the connection opening (or of the previous response),
  else the connection is closed, so trickling clients cannot hold connections open.
  Headers are capped at ``MAX_HEADER_BYTES`` by h11 (431/400 beyond).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_BODY_BYTES = 64 * 1024  # a preferences form is under 2 KB; one-click posts 26 bytes
MAX_HEADER_BYTES = 16 * 1024
REQUEST_TIMEOUT_SECONDS = 10.0
MAX_CONNECTIONS = 200  # beyond: 503, instead of memory and threads without end

log = logging.getLogger("digest.web")


class BodyTooLargeError(Exception):
    """A request body went past ``MAX_BODY_BYTES`` while it was being read."""


class RequestLimits:
    """Bound every request body before it is read; turn a vanished client into one line."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is None or declared > self.max_body:
            await _refuse(send, 413 if declared is not None else 400)
            return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
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
                await _refuse(send, 413)
        except ClientDisconnect:
            log.warning("digest: a client went away before its request was complete "
                        "(%s %s)", scope.get("method", "?"), shown_path(scope))


def shown_path(scope: Scope) -> str:
    """The request path for a log line, without the signed token that may follow /u/ or /p/."""
    path = str(scope.get("path", ""))
    for marker in ("/u/", "/p/"):
        head, found, _ = path.partition(marker)
        if found:
            return f"{head}{marker}…"
    return path[:200]


def _content_length(scope: Scope) -> int | float | None:
    """The declared body size; 0 when there is none (chunked or empty); None when malformed."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else None
    return 0


async def _refuse(send: Send, status: int) -> None:
    """A short plain answer that closes the connection, so an unread body is not read."""
    text = {413: b"Request body too large\n", 400: b"Bad request\n"}[status]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(text)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": text})


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on receiving each whole request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            self._disarm()  # the whole request is in: the app may take its time to answer

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this kept-alive connection has its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

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
