"""No log line of the product carries a member's or coordinator's address in clear: each
path that logs about an address (joining's limit, a bounced address, a refused mail, a
confirmation, a failed request, a coordinator's sign-in link) still says what happened,
naming the address only by its label."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from digest.errors import DeliveryError
from digest.jobs import joining, sign_in
from digest.jobs.collect import ensure_subscribers
from digest.jobs.join_form import JoinRequest, consent_wording
from digest.jobs.joining import AddressLimit, JoinOutcome, request_subscription, safely
from digest.jobs.logged_address import shown_address
from digest.models import RunReport, SubscriberStatus
from digest.store import subscribers
from digest.store.consents import Choices
from tests.test_console_access import make_ctx, write_config

ADDRESS = "Private.Person@Example.org"


def _request(ctx: Any, email: str = ADDRESS) -> JoinRequest:
    return JoinRequest(email=email, choices=Choices("P", "en", ("weekly",)), page="/subscribe",
                       wording=consent_wording(ctx.settings, "en"), page_language="en")


def _refusing(email: str) -> Any:
    @contextmanager
    def transport() -> Iterator[Any]:
        raise DeliveryError(f"550 5.1.1 <{email.lower()}>: Recipient address rejected")
        yield  # pragma: no cover
    return transport


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def _assert_hidden(caplog: pytest.LogCaptureFixture, secret: bytes, *expected: str,
                   address: str = ADDRESS) -> None:
    """The address (nor its local part) is in no line, and each expected line is there,
    naming the address by its label."""
    text = "\n".join(_lines(caplog)) + caplog.text
    assert address.split("@")[0].lower() not in text.lower(), text
    label = shown_address(secret, address)
    for words in expected:
        assert any(words in line and label in line for line in _lines(caplog)), (words, text)


def test_joining_logs_what_happened_but_never_the_address(
        sample_ctx: Any, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = sample_ctx
    ensure_subscribers(ctx, RunReport())
    caplog.set_level(logging.INFO, logger="digest")
    # Over the per-address limit.
    limit = AddressLimit(limit=1)
    assert request_subscription(ctx, _request(ctx), limit) is JoinOutcome.MAILED
    assert request_subscription(ctx, _request(ctx), limit) is JoinOutcome.LIMITED
    # A mail server that refuses the address, quoting it.
    monkeypatch.setattr(type(ctx), "open_transport", lambda self: _refusing(ADDRESS)())
    assert request_subscription(ctx, _request(ctx)) is JoinOutcome.FAILED
    # A request that fails outright (traceback) and one that is not handled.
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"boom for {ADDRESS}")
    monkeypatch.setattr(joining, "request_subscription", broken)
    safely(ctx, _request(ctx), limit)
    def refused(*_: Any, **__: Any) -> Any:
        raise OSError(f"disk full while storing {ADDRESS.upper()}")
    monkeypatch.setattr(joining, "request_subscription", refused)
    safely(ctx, _request(ctx), limit)
    _assert_hidden(caplog, ctx.secret, "over 1 mails", "Recipient address rejected",
                   "RuntimeError: boom for", "not handled: disk full")


def test_a_bounced_address_and_a_confirmation_are_logged_without_the_address(
        sample_ctx: Any, caplog: pytest.LogCaptureFixture) -> None:
    ctx = sample_ctx
    ensure_subscribers(ctx, RunReport())
    caplog.set_level(logging.INFO, logger="digest")
    assert request_subscription(ctx, _request(ctx)) is JoinOutcome.MAILED
    [mail] = [p.read_text() for p in (ctx.settings.out_dir / "outbox").glob("*.eml")]
    token = mail.replace("=\n", "").split("/confirm/")[1].split()[0]
    assert joining.confirm(ctx, token).state.value == "confirmed"
    with ctx.db.transaction() as c:
        member = subscribers.by_email(c, ADDRESS)
        assert member is not None and member.id is not None
        subscribers.set_status_by_id(c, member.id, SubscriberStatus.BOUNCED)
    assert request_subscription(ctx, _request(ctx)) is JoinOutcome.BOUNCED
    _assert_hidden(caplog, ctx.secret, "its mail bounced", "confirmed (consent")


def test_a_coordinators_sign_in_is_logged_without_the_address(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = make_ctx(write_config(tmp_path, "http://127.0.0.1:1"))
    caplog.set_level(logging.INFO, logger="digest")
    try:
        for _ in range(sign_in.LINKS_PER_ADDRESS):
            assert sign_in.request_link(ctx, "approver@example.org", "en")
        assert not sign_in.request_link(ctx, "approver@example.org", "en")  # over the limit
        monkeypatch.setattr(type(ctx), "open_transport",
                            lambda self: _refusing("approver@example.org")())
        monkeypatch.setattr(sign_in, "LINKS_PER_ADDRESS", 10)
        assert not sign_in.request_link(ctx, "approver@example.org", "en")
        _assert_hidden(caplog, ctx.secret, "already in", "Recipient address rejected",
                       address="approver@example.org")
    finally:
        ctx.close()
