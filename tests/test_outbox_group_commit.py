"""The outbox's group commit: the 250s of several connections share one commit, and no
sending thread goes on before its own mark is committed (the duplicate promise: at most one
message per open connection is in doubt after a crash)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from digest.jobs.marks import GroupCommit, Mark
from digest.jobs.outbox import send_pending
from digest.mail.envelope import Envelope
from digest.mail.transports import make_transport
from digest.store import deliveries
from tests.mail_server import FaultyHandler, smtp_server
from tests.test_delivery_outbox import NOW, RENDERED, counts, make_ctx, members, plan


class _SlowCommits:
    """A commit that waits until told to finish, recording each group it was given."""

    def __init__(self) -> None:
        self.groups: list[list[Mark]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.committed: set[int] = set()

    def __call__(self, marks: Sequence[Mark]) -> None:
        self.groups.append(list(marks))
        self.entered.set()
        assert self.release.wait(10)
        self.committed.update(delivery_id for delivery_id, _ in marks)


def test_marks_gathered_during_a_commit_share_the_next_one_and_each_waits_for_its_own(
        ) -> None:
    commits = _SlowCommits()
    group = GroupCommit([commits])
    returned: dict[int, bool] = {}

    def record(delivery_id: int) -> None:
        group.record((delivery_id, f"<{delivery_id}@x>"))
        returned[delivery_id] = delivery_id in commits.committed  # committed before return

    first = threading.Thread(target=record, args=(1,))
    first.start()
    assert commits.entered.wait(10)  # mark 1 is being committed, slowly
    others = [threading.Thread(target=record, args=(n,)) for n in (2, 3, 4)]
    for thread in others:
        thread.start()
    for _ in range(100):  # let the three gather while the first commit is under way
        if len(group._gathered) == 3:
            break
        threading.Event().wait(0.01)
    assert not returned, "no thread goes on before its mark is committed"
    commits.release.set()
    for thread in [first, *others]:
        thread.join(10)
    group.close()
    assert returned == {1: True, 2: True, 3: True, 4: True}
    assert [sorted(m[0] for m in g) for g in commits.groups] == [[1], [2, 3, 4]]


def test_a_failed_commit_is_raised_in_every_thread_of_its_group() -> None:
    def commit(marks: Sequence[Mark]) -> None:
        raise RuntimeError("the store went away")

    group = GroupCommit([commit])
    with pytest.raises(RuntimeError, match="went away"):
        group.record((1, "<1@x>"))
    with pytest.raises(RuntimeError, match="went away"):  # the next group fails on its own
        group.record((2, "<2@x>"))
    group.close()


def test_a_failed_commit_nobody_waited_for_is_raised_by_close() -> None:
    """Marks left for ``close`` (a stop before the next message) are committed there; if
    that commit fails, the caller hears of it instead of counting the messages recorded."""
    def commit(marks: Sequence[Mark]) -> None:
        raise RuntimeError("the store went away")

    group = GroupCommit([commit, commit])
    group.submit((1, "<1@x>"))
    with pytest.raises(RuntimeError, match="went away"):
        group.close()
    seen = GroupCommit([commit])
    with pytest.raises(RuntimeError):
        seen.record((1, "<1@x>"))
    seen.close()  # its thread saw the error already: not raised twice


class _StopOnSecondWait:
    """A rate limiter whose second wait is interrupted by a stop (SIGTERM), as a send job's
    would be: the message after it is not handed over."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop, self.calls = stop, 0

    def wait(self) -> None:
        self.calls += 1
        if self.calls == 2:
            self.stop.set()


def test_a_stop_before_the_next_message_still_reports_a_failed_mark(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first message is accepted, its mark's commit fails, and the stop comes while
    the second waits for its turn: the run fails (the row is not counted as recorded)."""
    from digest.store import claims

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the store went away")

    with smtp_server() as (handler, url):
        ctx = make_ctx(tmp_path, url, concurrency=1)
        row = plan(ctx, members(3))
        monkeypatch.setattr(claims, "mark_sent_many", broken)
        with pytest.raises(RuntimeError, match="went away"):
            send_pending(ctx, row, RENDERED, make_transport(ctx.settings, ctx.env),
                         limiter=_StopOnSecondWait(ctx.stop))  # type: ignore[arg-type]
    assert len(handler.accepted) == 1


@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgres", marks=pytest.mark.postgres)])
def test_several_connections_share_commits_and_every_row_is_recorded(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    from tests.conftest import reset_postgres

    database = None
    if backend == "postgres":
        database = request.getfixturevalue("postgres_url")
        reset_postgres(database)
    with smtp_server(FaultyHandler(delay=0.002)) as (handler, url):
        ctx = make_ctx(tmp_path, url, concurrency=4, database=database)
        row = plan(ctx, members(80))
        transport = make_transport(ctx.settings, ctx.env)
        try:
            outcome = send_pending(ctx, row, RENDERED, transport)
        finally:
            transport.close()
    assert outcome.sent == 80
    assert sorted(handler.recipients()) == members(80)
    assert counts(ctx, row) == {"sent": 80}
    with ctx.db.transaction() as c:
        from sqlalchemy import select

        from digest.store.schema import deliveries

        recorded = c.execute(select(deliveries.c.message_id, deliveries.c.attempts)
                             .where(deliveries.c.edition_id == row.id)).all()
    assert {m for m, _ in recorded} == {m.message_id for m in handler.accepted}
    assert {a for _, a in recorded} == {1}
    ctx.close()


class _Staging:
    """A transport that stages (as SMTP does) and logs, per connection (its thread), when
    each message was accepted: its last line sent."""

    def __init__(self, log: list[tuple[str, int, object]]) -> None:
        self.log = log

    def send(self, envelope: Envelope) -> str:
        raise AssertionError("a staging transport is asked to stage")

    def stage(self, envelope: Envelope) -> _Staged:
        return _Staged(self.log, envelope.recipient)

    def close(self) -> None:
        pass


class _Staged:
    def __init__(self, log: list[tuple[str, int, object]], recipient: str) -> None:
        self.log, self.recipient = log, recipient

    def finish(self) -> str:
        self.log.append(("accepted", threading.get_ident(), self.recipient))
        return "250 ok"

    def abandon(self) -> None:
        raise AssertionError("nothing is abandoned here")


def test_a_connection_has_its_next_message_accepted_only_after_its_last_mark_committed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from digest.store import claims

    log: list[tuple[str, int, object]] = []
    real = claims.mark_sent_many

    def logged(connection: Any, edition_id: int, marks: Sequence[Mark], now: Any) -> Any:
        status = real(connection, edition_id, marks, now)
        log.append(("committed", 0, {delivery_id for delivery_id, _ in marks}))
        return status

    monkeypatch.setattr(claims, "mark_sent_many", logged)
    ctx = make_ctx(tmp_path, None, concurrency=3)
    row = plan(ctx, members(30))
    with ctx.db.transaction() as c:
        ids = {d.subscriber.email: d.id for d in deliveries.pending(c, row.id)}
    outcome = send_pending(ctx, row, RENDERED, _Staging(log))
    assert outcome.sent == 30 and counts(ctx, row) == {"sent": 30}
    committed: set[int] = set()
    last: dict[int, int] = {}  # connection -> its last accepted delivery
    for event, connection, what in log:
        if event == "committed":
            assert isinstance(what, set)
            committed |= what
            continue
        if connection in last:
            assert last[connection] in committed, "accepted before the previous mark"
        last[connection] = ids[str(what)]
    assert committed == set(ids.values())


HOSTILE_IDS = ['<a"b@x>', "<a\\b@x>", "<a,b@x>", "<{a}@x>", "<a b@x>", "NULL", "", '\\"',
               "<ünï@x>", "<a'b@x>", "<a\\\\\"}{,@x>", "<" + "x" * 390 + ">"]


@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_group_of_marks_records_each_message_id_as_it_was(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    """The marks' statement carries its Message-IDs in one array's text on PostgreSQL:
    quotes, backslashes, commas, braces, spaces, the word NULL come back unchanged, each
    with its own row, and only the marked rows change."""
    from sqlalchemy import select

    from digest.store import claims
    from digest.store.schema import deliveries
    from tests.conftest import reset_postgres

    database = None
    if backend == "postgres":
        database = request.getfixturevalue("postgres_url")
        reset_postgres(database)
    ctx = make_ctx(tmp_path, None, database=database)
    row = plan(ctx, members(len(HOSTILE_IDS) + 2))
    with ctx.db.transaction() as c:
        ids = sorted(c.execute(select(deliveries.c.id)
                               .where(deliveries.c.edition_id == row.id)).scalars())
        marks = list(zip(ids[1:-1], HOSTILE_IDS, strict=True))
        status = claims.mark_sent_many(c, row.id, marks, NOW)
        recorded = dict(c.execute(select(deliveries.c.id, deliveries.c.message_id)
                                  .where(deliveries.c.edition_id == row.id)).all())
    assert status == "sending"
    assert recorded == {ids[0]: None, **dict(marks), ids[-1]: None}
    assert counts(ctx, row) == {"sent": len(HOSTILE_IDS), "pending": 2}
    ctx.close()
