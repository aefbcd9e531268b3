"""The outbox against a real SMTP server (aiosmtpd): claims, back-off, failures, bounces,
session failures, stops, concurrency and rate. The clock is moved by hand; nothing sleeps
for back-off."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.cli.service import status
from digest.config import Environment, Settings
from digest.jobs.context import Context
from digest.jobs.manual import retry_failed
from digest.jobs.outbox import holder_is_dead, release_stale, send_pending
from digest.jobs.policy import RateLimiter, RetryPolicy
from digest.mail.envelope import Envelope
from digest.mail.transports import Transport, make_transport
from digest.models import PLACEHOLDERS, DeliveryStatus, RenderedEmail, Subscriber
from digest.store import claims, deliveries, editions, subscribers
from digest.store.editions import EditionRow
from digest.store.schema import deliveries as deliveries_table
from digest.testing import ManualClock
from tests.conftest import reset_postgres
from tests.mail_server import FaultyHandler, free_port, smtp_server

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
SECRET = "k3y-for-tests-0123456789abcdefghijklmnopqrstuvwxyz"
RENDERED = {"all": RenderedEmail(
    subject="Social Affairs weekly #1", preheader="", mjml="",
    html=f"<p>Dear {PLACEHOLDERS['name']}</p><a href=\"{PLACEHOLDERS['unsubscribe_url']}\">x</a>",
    text=f"Dear {PLACEHOLDERS['name']}\nUnsubscribe: {PLACEHOLDERS['unsubscribe_url']}\n",
    language="en")}


def make_ctx(tmp_path: Path, url: str | None, concurrency: int = 3,
             rate: str = "1000/s", database: str | None = None) -> Context:
    settings = Settings.model_validate({
        "site": {"title": "Forum", "base_url": "https://forum.example.org/digest",
                 "sender": {"name": "Forum", "address": "forum@example.org"},
                 "output": str(tmp_path)},
        "digests": [{"id": "weekly", "title": "Weekly", "cron": "0 8 * * mon"}],
        "delivery": {"transport": "smtp" if url else "file", "rate": rate,
                     "concurrency": concurrency},
        "config_path": str(tmp_path / "schedules.yaml"),
    })
    return Context(settings=settings, env=Environment(database, url, None, SECRET, None),
                   clock=ManualClock(NOW))


def members(count: int) -> list[str]:
    return [f"member{n:03d}@example.org" for n in range(count)]


def plan(ctx: Context, emails: list[str]) -> EditionRow:
    with ctx.db.transaction() as c:
        row = editions.create(c, digest_id="weekly", slot=NOW, number=1,
                              status=editions.SENDING, title="Weekly", period_start=None,
                              period_end=NOW, item_keys=[], omitted=0, now=NOW)
        assert row is not None
        for address in emails:
            subscribers.add(c, Subscriber(email=address, name=address.split("@")[0],
                                          language="en", digests=("weekly",)), NOW)
        planned = [(m.id, "all") for m in subscribers.active_for(c, None) if m.id]
        deliveries.plan(c, row.id, planned, NOW)
    return row


def counts(ctx: Context, row: EditionRow) -> dict[str, int]:
    with ctx.db.transaction() as c:
        return deliveries.counts(c, row.id)


def edition_status(ctx: Context, row: EditionRow) -> str:
    with ctx.db.transaction() as c:
        found = editions.by_label(c, row.label)
    assert found is not None
    return found.status


def test_every_row_is_sent_once_over_a_small_pool(tmp_path: Path) -> None:
    with smtp_server() as (handler, url):
        ctx = make_ctx(tmp_path, url, concurrency=3)
        row = plan(ctx, members(40))
        transport = make_transport(ctx.settings, ctx.env)
        try:
            outcome = send_pending(ctx, row, RENDERED, transport)
        finally:
            transport.close()
    assert outcome.sent == 40 and not outcome.stopped
    assert handler.recipients() == members(40)
    assert len({m.message_id for m in handler.accepted}) == 40
    assert 1 < len({m.peer for m in handler.accepted}) <= 3  # several connections, capped
    assert counts(ctx, row) == {"sent": 40}
    assert edition_status(ctx, row) == editions.SENT


def test_550_user_unknown_fails_the_row_with_the_answer_and_bounces_the_member(
        tmp_path: Path) -> None:
    handler = FaultyHandler(rcpt_answers={
        "member001@example.org": "550 5.1.1 <member001@example.org>: Recipient address "
                                 "rejected: User unknown",
        "member002@example.org": "550 5.7.1 policy: rejected"})
    with smtp_server(handler) as (_, url):
        ctx = make_ctx(tmp_path, url)
        row = plan(ctx, members(5))
        outcome = send_pending(ctx, row, RENDERED, make_transport(ctx.settings, ctx.env))
    assert (outcome.sent, outcome.failed, outcome.bounced) == (3, 2, 1)
    assert counts(ctx, row) == {"sent": 3, "failed": 2}
    with ctx.db.transaction() as c:
        states = {m.email: m.status.value for m in subscribers.all_members(c)}
    assert states["member001@example.org"] == "bounced"
    assert states["member002@example.org"] == "active"  # a policy refusal is not a dead address
    again = tmp_path / "again.csv"
    again.write_text("email,name\nMEMBER001@example.org,Back\n")
    with ctx.db.transaction() as c:  # an import never revives a bounced address
        result = subscribers.import_csv(c, again, NOW, "en", ["weekly"], [])
        assert (result.added, result.known) == (0, 1)
        assert {m.email: m.status.value for m in subscribers.all_members(c)}[
            "member001@example.org"] == "bounced"
    shown = io.StringIO()
    status(ctx, shown)
    assert "failed: member001@example.org (1 attempt): " in shown.getvalue()
    assert "User unknown" in shown.getvalue() and "550 5.7.1 policy" in shown.getvalue()
    assert "--retry-failed" in shown.getvalue()
    assert edition_status(ctx, row) == editions.SENT  # nothing left to try


def test_451_is_retried_with_back_off_then_failed_after_the_last_attempt(
        tmp_path: Path) -> None:
    handler = FaultyHandler(rcpt_answers={
        "member000@example.org": "451 4.7.1 greylisted, try again later"})
    policy = RetryPolicy(max_attempts=3, first_delay=timedelta(minutes=5))
    with smtp_server(handler) as (_, url):
        ctx = make_ctx(tmp_path, url)
        clock = ctx.clock
        assert isinstance(clock, ManualClock)
        row = plan(ctx, members(3))
        transport = make_transport(ctx.settings, ctx.env)
        first = send_pending(ctx, row, RENDERED, transport, policy=policy)
        assert (first.sent, first.deferred) == (2, 1)
        with ctx.db.transaction() as c:
            [waiting] = deliveries.pending(c, row.id)
            assert deliveries.next_attempt(c, row.id, NOW) == NOW + timedelta(minutes=5)
        assert waiting.attempts == 1 and "greylisted" in (waiting.last_error or "")
        assert edition_status(ctx, row) == editions.SENDING
        # Not due yet: a run now does not touch the row.
        assert send_pending(ctx, row, RENDERED, transport, policy=policy).deferred == 0
        clock.advance(timedelta(minutes=5))
        assert send_pending(ctx, row, RENDERED, transport, policy=policy).deferred == 1
        with ctx.db.transaction() as c:  # second wait doubles
            assert deliveries.next_attempt(c, row.id, clock.now()) == \
                clock.now() + timedelta(minutes=10)
        clock.advance(timedelta(minutes=10))
        last = send_pending(ctx, row, RENDERED, transport, policy=policy)
        assert (last.failed, last.deferred) == (1, 0)
        with ctx.db.transaction() as c:
            [failure] = deliveries.failures(c, row.id)
        assert failure.error.startswith("gave up after 3 attempts: ")
        assert edition_status(ctx, row) == editions.SENT
        # --retry-failed queues it again; the server now takes it.
        handler.rcpt_answers.clear()
        with ctx.db.transaction() as c:
            refreshed = editions.by_label(c, row.label)
        assert refreshed is not None
        assert retry_failed(ctx, refreshed) == 1
        assert edition_status(ctx, row) == editions.SENDING
        assert send_pending(ctx, row, RENDERED, transport, policy=policy).sent == 1
        transport.close()
    assert handler.recipients() == members(3)
    assert counts(ctx, row) == {"sent": 3}


def test_back_off_doubles_up_to_a_ceiling() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n).total_seconds() / 60 for n in range(1, 8)] == \
        [5, 10, 20, 40, 80, 160, 240]


def test_a_421_session_stops_the_batch_and_keeps_every_row_pending(tmp_path: Path) -> None:
    handler = FaultyHandler(mail_answer="421 4.3.2 service shutting down")
    with smtp_server(handler) as (_, url):
        ctx = make_ctx(tmp_path, url, concurrency=2)
        row = plan(ctx, members(30))
        outcome = send_pending(ctx, row, RENDERED, make_transport(ctx.settings, ctx.env))
    assert outcome.sent == 0 and outcome.stopped and "421" in outcome.stopped
    assert handler.sessions <= 6  # not one session per row
    with ctx.db.transaction() as c:
        rows = deliveries.pending(c, row.id)
    assert len(rows) == 30 and all(r.attempts == 0 for r in rows)  # not the members' fault
    assert edition_status(ctx, row) == editions.SENDING


def test_a_refused_connection_stops_the_batch_at_once(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, f"smtp://127.0.0.1:{free_port()}?timeout=2", concurrency=2)
    row = plan(ctx, members(25))
    outcome = send_pending(ctx, row, RENDERED, make_transport(ctx.settings, ctx.env))
    assert outcome.stopped and "cannot connect" in outcome.stopped
    assert outcome.problem(row.label) and "stopped: " in (outcome.problem(row.label) or "")
    assert counts(ctx, row) == {"pending": 25}


def test_a_connection_dropped_mid_data_defers_that_message_only(tmp_path: Path) -> None:
    handler = FaultyHandler(drop_data_for={"member002@example.org"})
    with smtp_server(handler) as (_, url):
        ctx = make_ctx(tmp_path, url, concurrency=1)
        row = plan(ctx, members(5))
        outcome = send_pending(ctx, row, RENDERED, make_transport(ctx.settings, ctx.env))
        assert (outcome.sent, outcome.deferred, outcome.stopped) == (4, 1, None)
        ctx.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        again = send_pending(ctx, row, RENDERED, make_transport(ctx.settings, ctx.env))
    assert again.sent == 1
    assert handler.recipients() == members(5)
    assert counts(ctx, row) == {"sent": 5}


@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_senders_at_once_never_send_one_row_twice(tmp_path: Path, backend: str,
                                                       request: pytest.FixtureRequest) -> None:
    database = None
    if backend == "postgres":
        database = request.getfixturevalue("postgres_url")
        reset_postgres(database)
    handler = FaultyHandler(delay=0.002)
    with smtp_server(handler) as (_, url):
        first = make_ctx(tmp_path, url, concurrency=2, database=database)
        row = plan(first, members(60))
        # Its own engine, as another process would have.
        second = make_ctx(tmp_path, url, concurrency=2, database=database)
        results = []

        def run(ctx: Context) -> None:
            results.append(send_pending(ctx, row, RENDERED,
                                        make_transport(ctx.settings, ctx.env)))

        threads = [threading.Thread(target=run, args=(c,)) for c in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(r.sent for r in results) == 60
    assert all(r.sent > 0 for r in results)  # both took part
    assert Counter(handler.recipients()) == Counter(members(60))
    assert counts(first, row) == {"sent": 60}
    first.close()
    second.close()


class _StopAfter:
    """A transport that asks for a stop (as SIGTERM would) after a few messages."""

    def __init__(self, inner: Transport, after: int, stop: threading.Event) -> None:
        self.inner, self.after, self.stop, self.sent = inner, after, stop, 0

    def send(self, envelope: Envelope) -> str:
        answer = self.inner.send(envelope)
        self.sent += 1
        if self.sent == self.after:
            self.stop.set()
        return answer

    def close(self) -> None:
        self.inner.close()


def test_a_stop_finishes_messages_in_flight_and_leaves_the_rest_pending(
        tmp_path: Path) -> None:
    with smtp_server() as (handler, url):
        ctx = make_ctx(tmp_path, url, concurrency=1)
        row = plan(ctx, members(20))
        transport = _StopAfter(make_transport(ctx.settings, ctx.env), 5, ctx.stop)
        outcome = send_pending(ctx, row, RENDERED, transport)
    assert outcome.sent == 5 and outcome.stopped and "stop" in outcome.stopped
    assert len(handler.accepted) == 5
    assert counts(ctx, row) == {"sent": 5, "pending": 15}  # none left "sending"


def test_claims_of_dead_senders_return_to_pending(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, None)
    row = plan(ctx, members(3))
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    import socket

    here = socket.gethostname()
    holders = [f"{here}:{child.pid}:dead", "elsewhere:1:alive", "elsewhere:2:lapsed"]
    leases = [NOW + timedelta(minutes=15), NOW + timedelta(minutes=15),
              NOW - timedelta(seconds=1)]
    with ctx.db.transaction() as c:
        ids = [r.id for r in deliveries.pending(c, row.id)]
        for delivery_id, holder, lease in zip(ids, holders, leases, strict=True):
            c.execute(deliveries_table.update().where(deliveries_table.c.id == delivery_id)
                      .values(status="sending", claimed_by=holder, lease_until=lease))
    assert holder_is_dead(holders[0]) and not holder_is_dead(holders[1])
    assert release_stale(ctx) == 2  # the dead process's and the lapsed lease's
    assert counts(ctx, row) == {"pending": 2, "sending": 1}
    ctx.clock.advance(timedelta(minutes=16))  # type: ignore[attr-defined]
    assert release_stale(ctx) == 1


def test_claim_is_atomic_per_row(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, None)
    row = plan(ctx, members(10))
    with ctx.db.transaction() as c:
        mine = claims.claim(c, row.id, "a", NOW, NOW + timedelta(minutes=1), 6)
        theirs = claims.claim(c, row.id, "b", NOW, NOW + timedelta(minutes=1), 6)
    assert len(mine) == 6 and len(theirs) == 4
    assert not {r.id for r in mine} & {r.id for r in theirs}
    assert all(r.status is DeliveryStatus.SENDING for r in mine + theirs)


@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_claimed_row_is_the_row_as_stored(tmp_path: Path, backend: str,
                                            request: pytest.FixtureRequest) -> None:
    """PostgreSQL's claim reads its rows on the driver: each is the same model as the
    store's own reading gives (a deferred row's attempts, error, Message-ID and back-off in
    UTC; a member's themes, digests and non-ASCII name), in id order, due rows only."""

    from digest.store.deliveries import as_delivery, select_rows
    from digest.store.schema import subscribers as subscribers_table

    database = None
    if backend == "postgres":
        database = request.getfixturevalue("postgres_url")
        reset_postgres(database)
    ctx = make_ctx(tmp_path, None, database=database)
    row = plan(ctx, members(5))
    with ctx.db.transaction() as c:
        ids = [r.id for r in deliveries.pending(c, row.id)]
        deliveries.defer(c, ids[1], NOW, "<m1@x>", "451 try later", NOW - timedelta(minutes=1))
        deliveries.defer(c, ids[2], NOW, "<m2@x>", "451 later", NOW + timedelta(hours=1))
        member = deliveries.pending(c, row.id)[0].subscriber
        assert member.id is not None
        c.execute(subscribers_table.update().where(subscribers_table.c.id == member.id)
                  .values(name="Zoë \"Ğ\" O'Brien", themes=["housing", "Ünïcode theme"]))
        claimed = claims.claim(c, row.id, "a", NOW, NOW + timedelta(minutes=1), 10)
        stored = {r["id"]: as_delivery(r) for r in c.execute(
            select_rows().where(deliveries_table.c.edition_id == row.id)).mappings()}
    assert [r.id for r in claimed] == [i for i in ids if i != ids[2]]
    assert claimed == [stored[r.id] for r in claimed]
    deferred = next(r for r in claimed if r.id == ids[1])
    assert (deferred.attempts, deferred.last_error, deferred.message_id) == (
        1, "451 try later", "<m1@x>")
    assert deferred.next_attempt_at == NOW - timedelta(minutes=1)
    assert deferred.next_attempt_at is not None and deferred.next_attempt_at.utcoffset() == \
        timedelta(0)
    assert claimed[0].subscriber.themes == ("housing", "Ünïcode theme")
    ctx.close()


def test_a_row_whose_variant_was_not_handed_over_stops_the_batch_and_stays_pending(
        tmp_path: Path) -> None:
    """The variants are checked per claimed row (not by scanning the outbox per job): a
    row of a variant the caller did not render ends the batch with an error naming it,
    and goes back to pending with every row not sent, none left claimed or failed."""
    from digest.errors import DeliveryError
    from digest.jobs.outbox import MissingVariantError

    with smtp_server() as (handler, url):
        ctx = make_ctx(tmp_path, url, concurrency=2)
        row = plan(ctx, members(30))
        with ctx.db.transaction() as c:
            odd = [r.id for r in deliveries.pending(c, row.id)][10]
            c.execute(deliveries_table.update().where(deliveries_table.c.id == odd)
                      .values(variant_key="theme:housing"))
        transport = make_transport(ctx.settings, ctx.env)
        try:
            with pytest.raises(MissingVariantError,
                               match="'theme:housing' not rendered") as raised:
                send_pending(ctx, row, RENDERED, transport)
        finally:
            transport.close()
    assert issubclass(MissingVariantError, DeliveryError)
    left = counts(ctx, row)
    assert set(left) <= {"sent", "pending"} and left["pending"] >= 1
    assert left.get("sent", 0) == len(handler.accepted) == raised.value.outcome.sent
    with ctx.db.transaction() as c:
        assert odd in {r.id for r in deliveries.pending(c, row.id)}
        assert deliveries.any_unfinished(c, row.id)
        assert deliveries.any_due(c, row.id, NOW)
        deliveries.defer(c, odd, NOW, None, "451 later", NOW + timedelta(hours=1))
        c.execute(deliveries_table.update().where(deliveries_table.c.id != odd)
                  .values(status="sent"))
        assert not deliveries.any_due(c, row.id, NOW)  # only a row waiting for its back-off
        assert deliveries.any_due(c, row.id, NOW + timedelta(hours=2))
        assert deliveries.any_unfinished(c, row.id)
        c.execute(deliveries_table.update().where(deliveries_table.c.id == odd)
                  .values(status="failed"))
        assert not deliveries.any_unfinished(c, row.id)
    ctx.close()


def test_rate_limiter_spaces_messages_without_sleeping() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = RateLimiter(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.wait()
    assert slept == pytest.approx([0.25, 0.5, 0.75, 1.0])  # all asked at once
    now[0] += 10
    limiter.wait()
    assert len(slept) == 4  # after a pause the next one leaves at once

