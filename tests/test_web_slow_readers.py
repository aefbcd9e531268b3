"""A client that asks for a large published file and never reads the answer does not hold
its connection for ever (``limits.TimedH11Protocol``): once the send buffer stayed full for
``WRITE_STALL_SECONDS`` the connection is cut, while a client that reads slowly gets the
whole file. Before, such connections stayed open without end: 200 of them (the connection
limit) and every visitor got 503."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from digest.config import Environment, load_settings
from digest.jobs.context import Context
from digest.testing import ManualClock
from digest.web import limits
from tests.conftest import SAMPLE_NOW
from tests.web_app_server import serving

SIZE = 24 * 1024 * 1024


@pytest.fixture
def site(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    monkeypatch.setattr(limits, "WRITE_STALL_SECONDS", 1.5)
    folder = project / "out" / "editions" / "weekly" / "1"
    folder.mkdir(parents=True)
    (folder / "big.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * (SIZE - 9))
    ctx = Context(settings=load_settings(project / "schedules.yaml"),
                  env=Environment.read({"DIGEST_SECRET_KEY": "k3y-" + "0123456789abcdef" * 3}),
                  clock=ManualClock(datetime.fromisoformat(SAMPLE_NOW)))
    with serving(ctx) as url:
        yield "127.0.0.1", int(urlsplit(url).port or 0)


def _ask(address: tuple[str, int]) -> socket.socket:
    connection = socket.create_connection(address, timeout=30)
    connection.sendall(b"GET /editions/weekly/1/big.pdf HTTP/1.1\r\nHost: x\r\n"
                       b"Connection: close\r\n\r\n")
    return connection


def _read_all(connection: socket.socket, pause: float = 0.0) -> int:
    received = 0
    with contextlib.suppress(ConnectionResetError):
        while chunk := connection.recv(1024 * 1024):
            received += len(chunk)
            time.sleep(pause)
    return received


def test_a_client_that_reads_nothing_is_cut_off(site: tuple[str, int]) -> None:
    with _ask(site) as connection:
        time.sleep(4)  # reads nothing: the server's buffer fills, then stays full
        assert _read_all(connection) < SIZE  # the answer was cut


def test_a_slow_reader_gets_everything(site: tuple[str, int]) -> None:
    with _ask(site) as connection:
        time.sleep(1)  # less than the stall limit
        assert _read_all(connection, pause=0.0005) > SIZE  # the whole file and its headers
