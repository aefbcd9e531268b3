"""Turning an edition's pending outbox rows into messages, one member at a time.

The decision to send (which rows exist) is made before this runs and kept in the store; this
module only works through the pending rows. Each outcome is committed right after the
transport answered, so a crash loses at most the record of the message in flight, and the
next run resumes from the rows still pending. Message-IDs are derived from the edition and
the address, so a message re-sent after such a crash carries the same Message-ID (and the
file transport overwrites the same file).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from digest.context import Context
from digest.errors import DeliveryError
from digest.links import preferences_url, unsubscribe_url
from digest.mail.message import MessageFactory, Recipient, make_list_id, make_message_id
from digest.mail.transports import PermanentFailure, TemporaryFailure, Transport
from digest.models import DeliveryStatus, RenderedEmail, Subscriber, SubscriberStatus
from digest.store import deliveries, editions
from digest.store.editions import EditionRow
from digest.tokens import make_token


@dataclass
class SendOutcome:
    sent: int = 0
    failed: int = 0
    deferred: int = 0


def recipient_for(ctx: Context, member: Subscriber) -> Recipient:
    """A member's address, name and signed links for one message."""
    assert member.id is not None
    settings = ctx.settings
    return Recipient(
        email=member.email,
        name=member.name,
        unsubscribe_url=unsubscribe_url(settings, make_token(ctx.secret, member.id,
                                                             "unsubscribe")),
        preferences_url=preferences_url(settings, make_token(ctx.secret, member.id,
                                                             "preferences")),
    )


def send_pending(ctx: Context, edition: EditionRow, rendered: Mapping[str, RenderedEmail],
                 transport: Transport) -> SendOutcome:
    """Deliver every pending row of ``edition``; mark the edition sent when none is left."""
    outcome = SendOutcome()
    now = ctx.clock.now()
    list_id = make_list_id(ctx.settings, edition.digest_id)
    factories = {key: MessageFactory(email, ctx.settings, list_id, now)
                 for key, email in rendered.items()}
    with ctx.db.transaction() as connection:
        rows = deliveries.pending(connection, edition.id)
    for row in rows:
        factory = factories.get(row.variant_key)
        if factory is None:  # the caller renders every planned variant; this is a bug
            raise DeliveryError(f"{edition.label}: variant {row.variant_key!r} not rendered")
        message_id = make_message_id(ctx.settings, edition.label, row.subscriber.email)
        if row.subscriber.status is not SubscriberStatus.ACTIVE:
            with ctx.db.transaction() as connection:
                deliveries.mark(connection, row.id, DeliveryStatus.CANCELLED, ctx.clock.now(),
                                None, f"member is {row.subscriber.status.value}")
            continue
        error: str | None = None
        try:
            transport.send(factory.build(recipient_for(ctx, row.subscriber), message_id))
        except PermanentFailure as exc:
            status, error = DeliveryStatus.FAILED, str(exc)
            outcome.failed += 1
        except TemporaryFailure as exc:
            status, error = DeliveryStatus.PENDING, str(exc)
            outcome.deferred += 1
        else:
            status = DeliveryStatus.SENT
            outcome.sent += 1
        with ctx.db.transaction() as connection:
            deliveries.mark(connection, row.id, status, ctx.clock.now(), message_id, error)
    with ctx.db.transaction() as connection:
        if not deliveries.pending(connection, edition.id):
            editions.set_status(connection, edition.id, editions.SENT)
    return outcome


def send_test(ctx: Context, edition: EditionRow, rendered: RenderedEmail, address: str,
              transport: Transport) -> str:
    """One copy marked [TEST] to ``address``; never recorded as a delivery."""
    factory = MessageFactory(rendered, ctx.settings, make_list_id(ctx.settings, edition.digest_id),
                             ctx.clock.now(),
                             test=True)
    recipient = Recipient(email=address, name="Test recipient",
                          unsubscribe_url=unsubscribe_url(ctx.settings, "test"),
                          preferences_url=preferences_url(ctx.settings, "test"))
    # Each test copy is its own message: a repeated test must not look like a duplicate.
    stamp = ctx.clock.now().isoformat() + secrets.token_hex(4)
    message_id = make_message_id(ctx.settings, f"{edition.label}/test/{stamp}", address)
    return transport.send(factory.build(recipient, message_id))
