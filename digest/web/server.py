"""``digest serve``: the web app under uvicorn, with room for background services.

A service (the scheduler, when it joins this command) is anything with ``start`` and
``stop``: started before the web server accepts connections, stopped after it closed them,
in reverse order. uvicorn turns SIGTERM and SIGINT into a graceful shutdown: requests in
progress finish, then the services stop.

The address is bound before any service starts (and the signing key read): a bad host or
a port in use is refused with one line and exit code 2 before the scheduler makes or
sends anything. Connections and requests are bounded (``digest.web.limits``).
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Protocol, TextIO

import uvicorn

from digest.errors import DigestError
from digest.jobs.context import Context
from digest.web.app import create_app
from digest.web.errors import refusal_page
from digest.web.limits import MAX_CONNECTIONS, MAX_HEADER_BYTES
from digest.web.wire_pages import paged_protocol


class Service(Protocol):
    """Something that runs beside the web app for the life of ``digest serve``."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class _Server(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM or Ctrl-C it shut down for is not raised
    again afterwards: a stop that was asked for ends ``digest serve`` with exit code 0;
    and the stop is passed on to the context, so sends in progress (a scheduled job)
    finish their message and stop."""

    def __init__(self, config: uvicorn.Config, stop: threading.Event) -> None:
        super().__init__(config)
        self.stop = stop

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.stop.set()
        super().handle_exit(sig, frame)
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()


def make_server(ctx: Context, host: str | None = None, port: int | None = None) -> uvicorn.Server:
    """A uvicorn server for the app, bound to ``web.host:web.port`` unless told otherwise.

    The access log is off: its lines would carry members' signed tokens. What uvicorn
    would answer itself (a request that is not HTTP, one past the connection limit) is the
    app's error page too (``wire_pages``); no WebSocket protocol is loaded."""
    config = uvicorn.Config(create_app(ctx), host=host or ctx.settings.web.host,
                            port=port if port is not None else ctx.settings.web.port,
                            log_level="warning", access_log=False, lifespan="off",
                            http=paged_protocol(refusal_page(ctx)), ws="none",
                            limit_concurrency=MAX_CONNECTIONS,
                            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                            server_header=False)
    return _Server(config, ctx.stop)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a ``DigestError`` (exit 2) that says why."""
    where = f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (OSError, UnicodeError) as exc:
        raise DigestError(f"cannot serve on {where}: unknown host {host!r} "
                          f"({getattr(exc, 'strerror', None) or exc}); check web.host") from None
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except OSError as exc:
        listener.close()
        reason = ("the address is already in use (is another digest serve already running? "
                  "else change web.port)" if exc.errno == errno.EADDRINUSE else
                  f"{exc.strerror or exc}; check web.host and web.port")
        raise DigestError(f"cannot serve on {where}: {reason}") from None
    return listener


def serve(ctx: Context, out: TextIO, services: Sequence[Service] = ()) -> int:
    """Run the web app (and ``services``) until SIGTERM or Ctrl-C; exit code 0."""
    server = make_server(ctx)
    ctx.secret  # noqa: B018 - a missing, short or unreadable key is refused before anything runs
    listener = bind(ctx.settings.web.host, ctx.settings.web.port)
    started: list[Service] = []
    try:
        for service in services:
            service.start()
            started.append(service)
        if ctx.stop.is_set():  # SIGTERM during start-up (catch-up): stop cleanly
            print("digest: stopped during start-up", file=out, flush=True)
            return 0
        web = ctx.settings.web
        host = f"[{web.host}]" if ":" in web.host else web.host  # an IPv6 literal (RFC 3986)
        print(f"digest: serving {ctx.settings.site.title} on http://{host}:{web.port}/ "
              f"(the console: {ctx.settings.site.base_url}/admin/; SIGTERM or Ctrl-C stops)",
              file=out, flush=True)
        server.run(sockets=[listener])
    finally:
        listener.close()
        for service in reversed(started):
            service.stop()
    return 0
