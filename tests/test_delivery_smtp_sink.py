"""Throughput against Postfix's smtp-sink (Debian's `postfix` package; its daemon is never
started): a batch through the whole outbox over a pool of connections arrives complete.
Skipped locally without smtp-sink, mandatory with DIGEST_REQUIRE_SERVICES=1. Speed itself
is measured in benchmarks/sending.py, not asserted here."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.jobs.outbox import send_pending
from digest.mail.transports import SmtpPool, make_transport
from tests.conftest import need_service
from tests.mail_server import free_port
from tests.test_delivery_outbox import RENDERED, counts, edition_status, make_ctx, members, plan

SMTP_SINK = Path("/usr/sbin/smtp-sink")


@pytest.fixture
def sink() -> Iterator[str]:
    if not SMTP_SINK.exists():
        need_service(f"{SMTP_SINK} (apt-get install postfix)")
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
    process = subprocess.Popen([str(SMTP_SINK), *user, f"127.0.0.1:{port}", "128"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "smtp-sink did not start"
                time.sleep(0.05)
        yield f"smtp://127.0.0.1:{port}?timeout=30"
    finally:
        process.terminate()
        process.wait(10)


def test_a_batch_to_smtp_sink_arrives_whole_over_a_pool(
        tmp_path: Path, sink: str) -> None:
    ctx = make_ctx(tmp_path, sink, concurrency=4, rate="100000/s")
    row = plan(ctx, members(400))
    transport = make_transport(ctx.settings, ctx.env)
    assert isinstance(transport, SmtpPool)
    try:
        outcome = send_pending(ctx, row, RENDERED, transport)
    finally:
        transport.close()
    assert outcome.sent == 400 and not outcome.stopped
    assert counts(ctx, row) == {"sent": 400}
    assert edition_status(ctx, row) == "sent"
