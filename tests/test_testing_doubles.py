"""The doubles shipped in ``digest.testing`` behave like what they stand for: the outbox
driven through ``MemoryTransport`` records, retries and bounces as with a real server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from digest.errors import InputError
from digest.jobs.outbox import send_pending
from digest.jobs.policy import RetryPolicy
from digest.mail.envelope import Envelope, PermanentFailure, TemporaryFailure
from digest.store import subscribers
from digest.testing import ManualClock, MemoryTransport
from tests.test_delivery_outbox import RENDERED, counts, make_ctx, members, plan


def _envelope(to: str) -> Envelope:
    return Envelope(sender="forum@example.org", recipient=to, message_id="<m@x>", data=b"x")


def test_scripted_replies_are_used_once_each_in_order() -> None:
    transport = MemoryTransport()
    transport.script("a@example.org", 451, times=2)
    transport.script("A@example.org", 550, "5.1.1 user unknown")
    for _ in range(2):
        with pytest.raises(TemporaryFailure) as temporary:
            transport.send(_envelope("a@example.org"))
        assert temporary.value.code == 451
    with pytest.raises(PermanentFailure) as permanent:
        transport.send(_envelope("a@example.org"))
    assert (permanent.value.code, permanent.value.stage) == (550, "rcpt")
    assert transport.send(_envelope("a@example.org")).startswith("250")
    assert transport.recipients() == ["a@example.org"]
    with pytest.raises(InputError):
        transport.script("a@example.org", 250)


def test_the_outbox_over_the_memory_transport(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, None, concurrency=2)
    emails = members(12)
    row = plan(ctx, emails)
    transport = MemoryTransport()
    transport.script(emails[3], 451)
    transport.script(emails[5], 550, "5.1.1 user unknown")
    policy = RetryPolicy(max_attempts=3, first_delay=timedelta(seconds=10))
    first = send_pending(ctx, row, RENDERED, transport, policy=policy)
    assert first.sent == 10
    assert sorted(transport.recipients()) == sorted(set(emails) - {emails[3], emails[5]})
    assert counts(ctx, row) == {"sent": 10, "pending": 1, "failed": 1}
    with ctx.db.transaction() as c:
        bounced = {m.email for m in subscribers.all_members(c) if m.status == "bounced"}
    assert bounced == {emails[5]}
    clock = ctx.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(minutes=5))
    second = send_pending(ctx, row, RENDERED, transport, policy=policy)
    assert second.sent == 1
    assert transport.recipients().count(emails[3]) == 1
    assert counts(ctx, row) == {"sent": 11, "failed": 1}
