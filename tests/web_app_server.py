"""The web app of ``digest serve`` on a free local port, in a thread of the test's process,
so a test reaches it over real HTTP while it keeps the context (clock, store) in hand."""

from __future__ import annotations

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
