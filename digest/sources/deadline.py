"""One poll's deadline enforced at every network wait, not only between them.

httpx has no timeout for a whole request: its read timeout restarts at each read, so a
server that sends its status line and then one header line every few seconds (or drips a
TLS handshake) kept a poll waiting far past ``collect.deadline`` (measured: 10 s with a
0.5 s deadline; up to hours within the 100 KB of headers httpcore accepts), and the body
loop, which checks the deadline between chunks, never ran. So the sockets of the clients
made here cut every connect, TLS handshake, read and write at whatever is left of the
deadline the calling thread set with ``within``; past it they raise httpcore's own
timeout, which httpx reports as a ``TimeoutException`` like any other.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

_local = threading.local()


@contextmanager
def within(remaining: Callable[[], float]) -> Iterator[None]:
    """Bound this thread's network waits by ``remaining()`` seconds, asked at each wait."""
    previous = getattr(_local, "remaining", None)
    _local.remaining = remaining
    try:
        yield
    finally:
        _local.remaining = previous


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    remaining: Callable[[], float] | None = getattr(_local, "remaining", None)
    if remaining is None:
        return timeout
    left = remaining()
    if left <= 0:
        raise error("the poll's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(
            ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(
            host, port, _bounded(timeout, httpcore.ConnectTimeout), local_address,
            socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None,
                            ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(
            path, _bounded(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def client(limits: httpx.Limits | None = None) -> httpx.Client:
    """An httpx client (redirects not followed) whose connections honour ``within``.

    httpx 0.28 takes no network backend, so the ones its transports' pools made (proxies
    from the environment included) are wrapped in place;
    ``tests/test_sources_deadline.py`` fails if that stops working."""
    made = (httpx.Client(follow_redirects=False) if limits is None
            else httpx.Client(follow_redirects=False, limits=limits))
    transports = [made._transport, *made._mounts.values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
    return made
