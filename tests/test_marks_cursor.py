"""The marks' statement on PostgreSQL runs on a cursor kept with its pooled connection
(``claims._cursor``): a connection lost under it gives way to a new one with its own
cursor, and connections used by several threads at once each keep theirs."""

from __future__ import annotations

import threading
from contextlib import suppress
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from digest.errors import StoreError
from digest.store import claims
from digest.store.schema import deliveries
from tests.conftest import reset_postgres
from tests.test_delivery_outbox import NOW, counts, make_ctx, members, plan

pytestmark = pytest.mark.postgres


def test_marks_are_recorded_again_after_their_connection_was_lost(
        tmp_path: Path, postgres_url: str) -> None:
    reset_postgres(postgres_url)
    ctx = make_ctx(tmp_path, None, database=postgres_url)
    row = plan(ctx, members(6))
    with ctx.db.transaction() as c:
        ids = sorted(c.execute(select(deliveries.c.id)).scalars())
    with suppress(StoreError), ctx.db.autocommit() as lost:  # (closing a lost one fails)
        assert claims.mark_sent_many(lost, row.id, [(ids[0], "<0@x>")], NOW) == "sending"
        backend = lost.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with ctx.db.autocommit() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        with pytest.raises(DBAPIError) as failed:
            claims.mark_sent_many(lost, row.id, [(ids[1], "<1@x>")], NOW)
        assert failed.value.connection_invalidated
    for n in range(2, 6):
        with ctx.db.autocommit() as connection:
            assert claims.mark_sent_many(connection, row.id, [(ids[n], f"<{n}@x>")],
                                         NOW) == "sending"
            kept = connection.info[claims._CURSOR]
            assert kept.connection is connection.connection.driver_connection
    assert counts(ctx, row) == {"sent": 5, "pending": 1}
    ctx.close()


def test_threads_marking_at_once_each_on_its_connection(tmp_path: Path,
                                                         postgres_url: str) -> None:
    reset_postgres(postgres_url)
    ctx = make_ctx(tmp_path, None, database=postgres_url)
    row = plan(ctx, members(200))
    with ctx.db.transaction() as c:
        ids = sorted(c.execute(select(deliveries.c.id)).scalars())
    errors: list[BaseException] = []

    def mark(chunk: list[int]) -> None:
        try:
            for start in range(0, len(chunk), 7):
                with ctx.db.autocommit() as connection:
                    claims.mark_sent_many(connection, row.id, [
                        (d, f'<{d}"\\,{{}} NULL@x>') for d in chunk[start:start + 7]], NOW)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=mark, args=(ids[k::4],)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with ctx.db.transaction() as c:
        recorded = dict(c.execute(select(deliveries.c.id, deliveries.c.message_id)).all())
    assert recorded == {d: f'<{d}"\\,{{}} NULL@x>' for d in ids}
    assert counts(ctx, row) == {"sent": 200}
    ctx.close()


def test_a_claim_whose_rows_cannot_be_read_fails_as_sqlalchemys_error(
        tmp_path: Path, postgres_url: str) -> None:
    """The claim's rows are read (psycopg converts values as they are fetched) inside the
    driver call: a value the driver cannot convert (a back-off of ``-infinity``, due for
    PostgreSQL, before year 1 for Python) fails as SQLAlchemy's ``DBAPIError``, as the
    store's own reading fails, not as a bare ``psycopg`` error."""
    reset_postgres(postgres_url)
    ctx = make_ctx(tmp_path, None, database=postgres_url)
    row = plan(ctx, members(3))
    with ctx.db.transaction() as c:
        c.execute(text("UPDATE deliveries SET next_attempt_at = '-infinity' "
                       "WHERE id = (SELECT min(id) FROM deliveries)"))
    with ctx.db.autocommit() as connection:
        with pytest.raises(DBAPIError) as failed:
            claims.claim(connection, row.id, "a", NOW, NOW, 10)
        assert not failed.value.connection_invalidated
    ctx.close()
