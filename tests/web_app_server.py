"""The web app of ``digest serve`` on a free local port, in a thread of the test's process,
so a test reaches it over real HTTP while it keeps the context (clock, store) in hand."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from digest.jobs.context import Context
from digest.web.server import make_server
from tests.mail_server import free_port, wait_for


@contextmanager
def serving(ctx: Context, port: int | None = None) -> Iterator[str]:
    """Serve ``ctx``'s site (on ``port``, else a free one); yields its base URL, then stops
    the server and closes ``ctx``."""
    server = make_server(ctx, "127.0.0.1", port or free_port())
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        ctx.close()


def raw_exchange(port: int, request: bytes, limit: float = 60) -> bytes:
    """Send ``request`` as is and read until the server closes (bounded by ``limit``)."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as connection:
        # The server may answer and close before taking it all: read what it said.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(request)
        with contextlib.suppress(ConnectionResetError):
            while chunk := connection.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)
