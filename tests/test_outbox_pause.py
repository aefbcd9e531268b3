"""A coordinator's pause during a batch of several connections (SQLite and PostgreSQL):
the claim no longer reads the edition's status, the marks and the records do, so the
batch must still stop after the messages in flight: once the pause is committed, each
sending thread hands at most one more message its last line, and no row stays claimed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from digest.jobs.context import Context
from digest.jobs.outbox import send_pending
from digest.mail.envelope import Envelope
from digest.mail.transports import make_transport
from digest.mail.transports.base import Staged
from digest.mail.transports.pool import SmtpPool
from digest.store import editions
from digest.store.editions import EditionRow
from tests.conftest import reset_postgres
from tests.mail_server import smtp_server
from tests.test_delivery_outbox import RENDERED, counts, edition_status, make_ctx, members, plan


class _PausingPool:
    """The SMTP pool, and a coordinator pausing the edition once the first 250 came: counts
    the final lines handed over after that pause was committed."""

    def __init__(self, inner: SmtpPool, ctx: Context, row: EditionRow) -> None:
        self.inner, self.ctx, self.row = inner, ctx, row
        self.lock = threading.Lock()
        self.accepted = 0
        self.paused = False
        self.after_pause = 0

    def send(self, envelope: Envelope) -> str:
        return self.stage(envelope).finish()

    def stage(self, envelope: Envelope) -> _Staged:
        return _Staged(self, self.inner.stage(envelope))

    def close(self) -> None:
        self.inner.close()

    def finished(self) -> None:
        with self.lock:
            self.accepted += 1
            first = self.accepted == 1
        if first:
            with self.ctx.db.transaction() as connection:
                editions.set_status(connection, self.row.id, editions.PAUSED)
            with self.lock:
                self.paused = True


class _Staged:
    def __init__(self, pool: _PausingPool, staged: Staged) -> None:
        self.pool, self.staged = pool, staged

    def finish(self) -> str:
        with self.pool.lock:
            self.pool.after_pause += self.pool.paused
        answer = self.staged.finish()
        self.pool.finished()
        return answer

    def abandon(self) -> None:
        self.staged.abandon()


@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("concurrency", [1, 3, 6])
def test_a_pause_stops_every_connection_after_its_message_in_flight(
        tmp_path: Path, backend: str, concurrency: int, request: pytest.FixtureRequest) -> None:
    database = None
    if backend == "postgres":
        database = request.getfixturevalue("postgres_url")
        reset_postgres(database)
    with smtp_server() as (_, url):
        ctx = make_ctx(tmp_path, url, concurrency=concurrency, database=database)
        row = plan(ctx, members(60))
        pool = make_transport(ctx.settings, ctx.env)
        assert isinstance(pool, SmtpPool)
        transport = _PausingPool(pool, ctx, row)
        try:
            outcome = send_pending(ctx, row, RENDERED, transport)
        finally:
            transport.close()
    assert outcome.held == "paused" and not outcome.stopped
    assert transport.after_pause <= concurrency
    assert edition_status(ctx, row) == editions.PAUSED
    assert counts(ctx, row) == {"sent": outcome.sent, "pending": 60 - outcome.sent}
    ctx.close()
