"""A worker's send job hands over at most ``limit`` messages (``workers.batch``) and leaves
the other rows pending, none held, for the next job; the edition is marked sent only by the
pass that finds nothing left."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.jobs.outbox import send_pending
from digest.mail.transports import make_transport
from digest.store import editions
from tests.mail_server import smtp_server
from tests.test_delivery_outbox import RENDERED, counts, edition_status, make_ctx, members, plan


@pytest.mark.parametrize("concurrency", [1, 3])
def test_limit_stops_after_that_many_and_leaves_the_rest_pending(tmp_path: Path,
                                                                  concurrency: int) -> None:
    with smtp_server() as (handler, url):
        ctx = make_ctx(tmp_path, url, concurrency=concurrency)
        row = plan(ctx, members(25))
        transport = make_transport(ctx.settings, ctx.env)
        try:
            first = send_pending(ctx, row, RENDERED, transport, limit=7)
            after_first = counts(ctx, row)
            status_after_first = edition_status(ctx, row)
            passes = [first]
            while passes[-1].limited:
                passes.append(send_pending(ctx, row, RENDERED, transport, limit=7))
        finally:
            transport.close()
    assert first.sent == 7 and first.limited and not first.stopped
    assert after_first == {"sent": 7, "pending": 18}  # none left "sending"
    assert status_after_first == editions.SENDING
    assert [p.sent for p in passes] == [7, 7, 7, 4]
    assert sorted(handler.recipients()) == members(25)  # each once, none lost
    assert counts(ctx, row) == {"sent": 25}
    assert edition_status(ctx, row) == editions.SENT


def test_a_limit_below_one_is_refused(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, None)
    row = plan(ctx, members(1))
    with pytest.raises(ValueError, match="limit"):
        send_pending(ctx, row, RENDERED, make_transport(ctx.settings, ctx.env), limit=0)
