"""A worker's send job whose kept variants went stale goes on instead of failing.

A process keeps an edition's variants after its first send job checked them against the
rows (``workers.rendering``); rows retried later may need a variant they lack. The job
that meets such a row counts what it sent, forgets the kept variants and queues its part
again; the next job checks the rows and renders. A job that checked the rows itself and
still lacks a variant fails (a bug: procrastinate's retries bound it), so a part is never
queued again and again without progress.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from digest.jobs.context import Context
from digest.models import RenderedEmail, RunReport
from digest.store import edition_variants
from digest.store.editions import EditionRow
from digest.store.schema import deliveries as deliveries_table
from digest.store.schema import job_reports
from digest.workers import rendering, tasks
from digest.workers.app import CONTEXT_KEY, QUEUE_KEY, SEND_OUTBOX
from tests.conftest import reset_postgres
from tests.test_delivery_outbox import RENDERED, counts, make_ctx, members, plan


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> str | None:
    """Each test on SQLite and on PostgreSQL (the workers' store)."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    reset_postgres(url)
    return url


class _Queue:
    """The worker's ``JobQueue`` as a send job uses it: the parts queued again."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int, str | None]] = []

    def send(self, edition_id: int, part: int, run: str | None = None) -> None:
        self.sent.append((edition_id, part, run))


def _job(ctx: Context, queue: _Queue, job_id: int) -> Any:
    """What ``tasks._Job`` reads of procrastinate's ``JobContext``."""
    return SimpleNamespace(
        additional_context={CONTEXT_KEY: ctx, QUEUE_KEY: queue},
        job=SimpleNamespace(id=job_id, task_name=SEND_OUTBOX, task_kwargs={"run": "r1"}))


def _outcome(ctx: Context, job_id: int) -> dict[str, Any]:
    with ctx.db.transaction() as connection:
        report = connection.execute(select(job_reports.c.report).where(
            job_reports.c.job_id == job_id)).scalar_one()
    found: dict[str, Any] = report["outcome"]
    return found


def _stale(tmp_path: Path, database: str | None) -> tuple[Context, EditionRow, int]:
    """An edition whose variants this process keeps, then a row of another variant (a
    retried row): the kept variants are stale and the store's keys unchanged."""
    ctx = make_ctx(tmp_path, None, concurrency=2, database=database)
    row = plan(ctx, members(30))
    with ctx.db.transaction() as connection:
        edition_variants.save(connection, row.id, RENDERED)
    assert set(rendering.variants_for(ctx, row, RunReport())) == set(RENDERED)
    assert rendering.kept_here(row.id)
    with ctx.db.transaction() as connection:
        odd = connection.execute(select(deliveries_table.c.id).where(
            deliveries_table.c.edition_id == row.id).order_by(deliveries_table.c.id)
            .offset(10).limit(1)).scalar_one()
        connection.execute(deliveries_table.update().where(deliveries_table.c.id == odd)
                           .values(variant_key="theme:housing"))
    return ctx, row, odd


def test_a_job_with_stale_kept_variants_counts_its_part_and_queues_it_again(
        tmp_path: Path, database: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[int] = []

    def render(ctx: Context, row: EditionRow, report: RunReport
               ) -> Mapping[str, RenderedEmail]:
        rendered.append(row.id)
        return {**RENDERED, "theme:housing": RENDERED["all"]}

    monkeypatch.setattr(rendering, "_render", render)
    ctx, row, _ = _stale(tmp_path, database)
    queue = _Queue()
    try:
        tasks.send_outbox(_job(ctx, queue, 1), row.id, 0, "r1")
        first = _outcome(ctx, 1)
        left = counts(ctx, row)
        assert queue.sent == [(row.id, 0, "r1")]  # its part again, not a failed job
        assert not rendering.kept_here(row.id) and rendered == []
        assert first["sent"] == left.get("sent", 0) and first["stopped"] is None
        assert left["pending"] >= 1 and set(left) <= {"sent", "pending"}

        tasks.send_outbox(_job(ctx, queue, 2), row.id, 0, "r1")  # checks, renders, sends
        second = _outcome(ctx, 2)
        assert rendered == [row.id] and queue.sent == [(row.id, 0, "r1")]
        assert counts(ctx, row) == {"sent": 30}
        assert first["sent"] + second["sent"] == 30  # each message counted once
        with ctx.db.transaction() as connection:
            assert edition_variants.keys(connection, row.id) == set()  # sent: forgotten
    finally:
        rendering.forget_here(row.id)
        ctx.close()


def test_a_job_that_checked_the_rows_and_still_lacks_a_variant_fails(
        tmp_path: Path, database: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A render that leaves out a variant the rows need: the part is queued again once
    (by the job that took the kept variants), then the checking job fails, no loop."""
    from digest.jobs.send_outcome import MissingVariantError

    monkeypatch.setattr(rendering, "_render", lambda ctx, row, report: dict(RENDERED))
    ctx, row, odd = _stale(tmp_path, database)
    queue = _Queue()
    try:
        tasks.send_outbox(_job(ctx, queue, 1), row.id, 0, "r1")
        assert queue.sent == [(row.id, 0, "r1")]
        with pytest.raises(MissingVariantError, match="'theme:housing' not rendered"):
            tasks.send_outbox(_job(ctx, queue, 2), row.id, 0, "r1")
        assert queue.sent == [(row.id, 0, "r1")] and not rendering.kept_here(row.id)
        with pytest.raises(MissingVariantError):  # procrastinate's retry: the same
            tasks.send_outbox(_job(ctx, queue, 2), row.id, 0, "r1")
        assert queue.sent == [(row.id, 0, "r1")]
        with ctx.db.transaction() as connection:
            status = connection.execute(select(deliveries_table.c.status).where(
                deliveries_table.c.id == odd)).scalar_one()
        assert status == "pending"
    finally:
        rendering.forget_here(row.id)
        ctx.close()


class _PausingAfterTheMiss:
    """The file transport; its first message waits until the other thread met the row
    of a missing variant (released, back to pending), then a coordinator pauses the
    edition: the pause is read with that message's mark, after the miss."""

    def __init__(self, ctx: Context, row: EditionRow, odd: int) -> None:
        from digest.mail.transports.files import FileTransport

        self.inner = FileTransport(ctx.settings.out_dir / "outbox")
        self.ctx, self.row, self.odd, self.sent = ctx, row, odd, 0

    def send(self, envelope: Any) -> str:
        import time

        from digest.store import editions

        self.sent += 1
        if self.sent == 1:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with self.ctx.db.transaction() as connection:
                    status = connection.execute(select(deliveries_table.c.status).where(
                        deliveries_table.c.id == self.odd)).scalar_one()
                if status == "pending":
                    break
                time.sleep(0.01)
            with self.ctx.db.transaction() as connection:
                editions.set_status(connection, self.row.id, editions.PAUSED)
        return str(self.inner.send(envelope))

    def close(self) -> None:
        self.inner.close()


def test_a_pause_read_in_a_batch_that_met_a_stale_variant_is_kept(
        tmp_path: Path, database: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch's hold (and stop) are part of what the error carries: the job reports
    the pause and does not queue its part again for a paused edition."""
    import digest.mail.transports

    ctx, row, _ = _stale(tmp_path, database)
    with ctx.db.transaction() as connection:
        odd = connection.execute(select(deliveries_table.c.id).where(
            deliveries_table.c.edition_id == row.id,
            deliveries_table.c.variant_key == "theme:housing")).scalar_one()
        connection.execute(deliveries_table.update().where(deliveries_table.c.id == odd)
                           .values(variant_key="all"))
        second = connection.execute(select(deliveries_table.c.id).where(
            deliveries_table.c.edition_id == row.id).order_by(deliveries_table.c.id)
            .offset(1).limit(1)).scalar_one()
        connection.execute(deliveries_table.update().where(deliveries_table.c.id == second)
                           .values(variant_key="theme:housing"))
    transport = _PausingAfterTheMiss(ctx, row, second)
    monkeypatch.setattr(digest.mail.transports, "make_transport", lambda *a: transport)
    queue = _Queue()
    try:
        tasks.send_outbox(_job(ctx, queue, 1), row.id, 0, "r1")
        outcome = _outcome(ctx, 1)
        assert transport.sent >= 1 and outcome["sent"] == transport.sent
        assert outcome["held"] == "paused"
        assert queue.sent == []  # paused: nothing to go on with
    finally:
        rendering.forget_here(row.id)
        ctx.close()
