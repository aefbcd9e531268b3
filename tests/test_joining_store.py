"""Joining below the web: consent rows and their choices on SQLite and PostgreSQL, and a
pending member receiving nothing from a real run."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

from digest.jobs.collect import ensure_subscribers
from digest.jobs.join_form import JoinRequest, consent_wording
from digest.jobs.joining import JoinOutcome, confirm, look_up, request_subscription
from digest.jobs.run import run_once
from digest.models import RunReport, Subscriber, SubscriberStatus
from digest.store import Database, consents, deliveries, schema, subscribers
from digest.store.consents import Choices

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)


def _pending(connection: Any, email: str, status: SubscriberStatus) -> int:
    subscribers.add(connection, Subscriber(email=email, name="Old", language="en",
                                           digests=("weekly",), status=status), NOW)
    member = subscribers.by_email(connection, email)
    assert member is not None and member.id is not None
    return member.id


def test_consents_record_confirm_and_export(db: Database) -> None:
    with db.transaction() as c:
        member_id = _pending(c, "eva@example.org", SubscriberStatus.PENDING)
        first = consents.record(c, member_id, "/subscribe", "I agree.", "en", NOW,
                                Choices("Eva", "fr", ("weekly", "monthly"), ("culture",)))
        second = consents.record(c, member_id, "/subscribe/embed", "J’accepte.", "fr",
                                 NOW + timedelta(minutes=5))
    assert first != second
    with db.transaction() as c:
        assert consents.confirm(c, first, NOW + timedelta(hours=1))
        assert not consents.confirm(c, first, NOW + timedelta(hours=2))  # once
        # An active member's older link confirms nothing: their choices stay theirs.
        assert not consents.confirm(c, second, NOW + timedelta(hours=3))
        member = subscribers.by_id(c, member_id)
        exported = consents.for_member(c, member_id)
    assert member is not None and member.status is SubscriberStatus.ACTIVE
    assert (member.name, member.language, member.digests, member.themes) == (
        "Eva", "fr", ("weekly", "monthly"), ("culture",))
    assert exported == [
        {"page": "/subscribe", "wording": "I agree.", "language": "en",
         "given_at": NOW.isoformat(), "confirmed_at": (NOW + timedelta(hours=1)).isoformat()},
        {"page": "/subscribe/embed", "wording": "J’accepte.", "language": "fr",
         "given_at": (NOW + timedelta(minutes=5)).isoformat(), "confirmed_at": None}]


def test_a_bounced_member_is_not_confirmed_and_a_deleted_one_leaves_no_consent(
        db: Database) -> None:
    with db.transaction() as c:
        bounced = _pending(c, "dead@example.org", SubscriberStatus.BOUNCED)
        consent = consents.record(c, bounced, "/subscribe", "I agree.", "en", NOW,
                                  Choices("X", "de", ("weekly",)))
        assert not consents.confirm(c, consent, NOW)
        assert subscribers.by_id(c, bounced).status is SubscriberStatus.BOUNCED  # type: ignore[union-attr]
        assert consents.by_id(c, consent).confirmed_at is None  # type: ignore[union-attr]
        assert consents.by_id(c, 10**30) is None
        # Erasing a member (their row deleted) takes their consents and choices with it.
        c.execute(schema.subscribers.delete().where(schema.subscribers.c.id == bounced))
        assert consents.by_id(c, consent) is None and consents.for_member(c, bounced) == []


def test_pending_members_whose_links_all_expired_are_forgotten(db: Database) -> None:
    cutoff = NOW + timedelta(days=7)
    with db.transaction() as c:
        stale = _pending(c, "stale@example.org", SubscriberStatus.PENDING)
        consents.record(c, stale, "/subscribe", "I agree.", "en", NOW,
                        Choices("Stale", "en", ("weekly",)))
        asked_again = _pending(c, "again@example.org", SubscriberStatus.PENDING)
        consents.record(c, asked_again, "/subscribe", "I agree.", "en", NOW)
        consents.record(c, asked_again, "/subscribe", "I agree.", "en", cutoff)
        imported = _pending(c, "imported@example.org", SubscriberStatus.PENDING)
        left = _pending(c, "left@example.org", SubscriberStatus.UNSUBSCRIBED)
        consents.record(c, left, "/subscribe", "I agree.", "en", NOW)
    with db.transaction() as c:
        assert consents.forget_unconfirmed(c, cutoff) == 1
        assert subscribers.by_id(c, stale) is None and consents.for_member(c, stale) == []
        assert all(subscribers.by_id(c, kept) is not None
                   for kept in (asked_again, imported, left))
        assert consents.forget_unconfirmed(c, cutoff) == 0


def test_a_pending_member_gets_nothing_from_a_run(sample_ctx: Any) -> None:
    ctx = sample_ctx
    ensure_subscribers(ctx, RunReport())
    request = JoinRequest(email="new.member@example.org",
                          choices=Choices("New Member", "en", ("weekly",)),
                          page="/subscribe", wording=consent_wording(ctx.settings, "en"),
                          page_language="en")
    assert request_subscription(ctx, request) is JoinOutcome.MAILED
    run_once(ctx)
    with ctx.db.transaction() as c:
        pending = subscribers.by_email(c, "new.member@example.org")
        assert pending is not None and pending.id is not None
        assert pending.status is SubscriberStatus.PENDING
        assert deliveries.of_member(c, pending.id) == []
        served = [m.email for m in subscribers.active_for(c, "weekly")
                  if m.id is not None and deliveries.of_member(c, m.id)]
        assert len(served) >= 4  # the edition did go out, to the active members
    # The link from the outbox (the only mail to the address), confirmed: active.
    [mail] = [p for p in (ctx.settings.out_dir / "outbox").glob("*.eml")
              if b"To: new.member@example.org" in p.read_bytes()]
    message = email.message_from_bytes(mail.read_bytes(), policy=policy.default)
    body = message.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    token = str(body.get_content()).split("/confirm/")[1].split()[0]
    assert look_up(ctx, token).state.value == "ready"
    assert confirm(ctx, token).state.value == "confirmed"
    with ctx.db.transaction() as c:
        confirmed = subscribers.by_email(c, "new.member@example.org")
    assert confirmed is not None and confirmed.status is SubscriberStatus.ACTIVE

