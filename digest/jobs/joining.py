"""Joining on the web with double opt-in: a request stored and mailed, a link confirmed.

- ``request_subscription`` runs after the page has answered (the web app's background
  task), so neither the answer nor its timing says whether the address is known. A new
  address is stored ``pending``, with its consent and choices, and mailed a confirmation
  link; a pending or unsubscribed member gets a new consent and link, their choices
  waiting for it; an active member is mailed a note with their preferences link (nothing
  changes); a bounced address is mailed nothing (its mail bounces). An address gets at
  most ``ADDRESS_MAILS`` mails per ``ADDRESS_WINDOW`` (counted in this process: one
  ``digest serve`` per store).
- A link (``/confirm/<token>``) names the consent and expires after
  ``tokens.CONFIRM_LIFETIME``; its page (``look_up``) shows exactly what confirming
  applies (the name, language, digests and themes of that request: anyone may have typed
  them, so the owner sees them before pressing), and ``confirm`` makes the member active
  with those choices, records when, and lifts an erasure's suppression (the owner
  subscribed anew). A bounced member is told why they cannot subscribe by themselves; an
  active member's older link changes nothing (their choices change only from their
  preferences page).
- ``forget_unconfirmed`` (each run's housekeeping) deletes the pending members whose links
  all expired unused: an address nobody confirmed is not kept.
"""

from __future__ import annotations

import logging
import secrets
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from digest.errors import DeliveryError, DigestError, InputError
from digest.jobs.context import Context
from digest.jobs.join_form import JoinRequest
from digest.jobs.logged_address import scrubbed, shown_address
from digest.jobs.rate_limit import RecentEvents
from digest.links import preferences_url
from digest.mail.message import Envelope, MessageFactory, Recipient, make_message_id
from digest.models import RenderedEmail, Subscriber, SubscriberStatus
from digest.render.i18n import N_, translate
from digest.render.templating import base_context, render_template
from digest.store import consents, subscribers, suppression
from digest.store.suppression import address_hash
from digest.tokens import (
    CONFIRM_LIFETIME,
    make_expiring_token,
    make_token,
    read_expiring_token,
)

ADDRESS_MAILS = 3
ADDRESS_WINDOW = timedelta(days=1)
CONFIRM_SUBJECT = N_("Confirm your subscription to %(site)s")
ALREADY_SUBJECT = N_("You are already subscribed to %(site)s")
log = logging.getLogger("digest.joining")


class JoinOutcome(StrEnum):
    """What a request did (for logs and tests; never shown to the one who asked)."""

    MAILED = "mailed"  # a confirmation link went out
    ALREADY = "already"  # an active member: a note with their preferences link
    BOUNCED = "bounced"  # nothing sent
    LIMITED = "limited"  # over the address's limit: nothing sent
    FAILED = "failed"  # the mail could not be sent (logged)


class ConfirmState(StrEnum):
    READY = "ready"  # a valid link, not used: the page shows the button
    CONFIRMED = "confirmed"  # confirmed by this request
    USED = "used"  # confirmed before: harmless, nothing changes
    SUBSCRIBED = "subscribed"  # an older link of a member active since: nothing changes
    BOUNCED = "bounced"  # the address bounced: only the forum's team can restore it
    INVALID = "invalid"  # expired, mistyped or erased


@dataclass(frozen=True)
class ConfirmView:
    """What a confirmation page shows: its state, and for a known member their address and
    preferences link, and the name, language, digests and themes confirming applies (once
    confirmed, or for a link that changes nothing, the member's own). No themes: all."""

    state: ConfirmState
    language: str | None = None
    email: str = ""
    digests: tuple[str, ...] = ()
    preferences: str = ""
    name: str = ""
    themes: tuple[str, ...] = ()


class AddressLimit:
    """At most ``limit`` mails per ``window`` per address, in this process, by the clock of
    the job (so a test clock moves it); addresses are kept only as hashes, and only so many
    (``RecentEvents``)."""

    def __init__(self, limit: int = ADDRESS_MAILS, window: timedelta = ADDRESS_WINDOW) -> None:
        self.limit, self.window = limit, window
        self.events = RecentEvents(limit, window.total_seconds())

    def allow(self, email: str, now: datetime) -> bool:
        return self.events.allow(address_hash(email), now.timestamp())


def confirm_url(ctx: Context, token: str) -> str:
    return f"{ctx.settings.site.base_url}/confirm/{token}"


def request_subscription(ctx: Context, request: JoinRequest,
                         limit: AddressLimit | None = None) -> JoinOutcome:
    """Store the request and mail what the address's state calls for (module docstring)."""
    now = ctx.clock.now()
    if limit is not None and not limit.allow(request.email, now):
        log.warning("subscribe: nothing mailed to %s: over %d mails in %s",
                    shown_address(ctx.secret, request.email), limit.limit, limit.window)
        return JoinOutcome.LIMITED
    wanted = request.choices
    with ctx.db.transaction() as connection:
        member = subscribers.by_email(connection, request.email)
        if member is None:
            subscribers.add(connection, Subscriber(
                email=request.email, name=wanted.name, language=wanted.language,
                digests=wanted.digests, themes=wanted.themes,
                status=SubscriberStatus.PENDING), now)
            member = subscribers.by_email(connection, request.email)
        if member is None or member.id is None:
            raise DigestError(
                f"subscribe: {shown_address(ctx.secret, request.email)} could not be stored")
        if member.status is SubscriberStatus.BOUNCED:
            log.info("subscribe: nothing mailed to %s: its mail bounced",
                     shown_address(ctx.secret, member.email))
            return JoinOutcome.BOUNCED
        consent_id = None
        if member.status is not SubscriberStatus.ACTIVE:
            consent_id = consents.record(connection, member.id, request.page,
                                         request.wording, request.page_language, now, wanted)
    try:
        if consent_id is None:
            url = preferences_url(ctx.settings,
                                  make_token(ctx.secret, member.id, "preferences"))
            message = _message(ctx, member.email, member.name, member.language, url,
                               already=True)
            outcome = JoinOutcome.ALREADY
        else:
            token = make_expiring_token(ctx.secret, consent_id, "confirm",
                                        now + CONFIRM_LIFETIME)
            # Not the typed name: anyone may type anything there, and the mail must not
            # carry a stranger's words to the address (nor in its To header).
            message = _message(ctx, member.email, "", wanted.language,
                               confirm_url(ctx, token), already=False)
            outcome = JoinOutcome.MAILED
        with ctx.open_transport() as transport:
            transport.send(message)
    except (DeliveryError, OSError) as exc:  # e.g. the mail server refused the address
        log.warning("subscribe: mail to %s not sent: %s", shown_address(ctx.secret, member.email),
                    scrubbed(ctx.secret, str(exc), member.email))
        return JoinOutcome.FAILED
    return outcome


def _message(ctx: Context, email: str, name: str, language: str, url: str,
             already: bool) -> Envelope:
    """The confirmation mail (or the "already subscribed" note), in ``language``."""
    settings = ctx.settings
    subject = translate(language, ALREADY_SUBJECT if already else CONFIRM_SUBJECT) % {
        "site": settings.site.title}
    days = CONFIRM_LIFETIME.days
    values = {**base_context(settings, language), "url": url, "name": name,
              "already": already, "days": days, "subject": subject}
    rendered = RenderedEmail(
        subject=subject, preheader="", mjml="", language=language,
        html=render_template(settings, "email/confirm_subscription.html.j2", values),
        text=render_template(settings, "text/confirm_subscription.txt.j2", values))
    factory = MessageFactory(rendered, settings, "subscribe", ctx.clock.now())
    recipient = Recipient(email=email, name=name, unsubscribe_url="", preferences_url="")
    message_id = make_message_id(settings, f"subscribe/{secrets.token_hex(8)}", email)
    return factory.build(recipient, message_id)


def look_up(ctx: Context, token: str) -> ConfirmView:
    """What ``/confirm/<token>`` shows before its button is pressed; changes nothing."""
    return _view(ctx, token, act=False)


def confirm(ctx: Context, token: str) -> ConfirmView:
    """Press the button: confirm the consent the token names (see the module docstring)."""
    return _view(ctx, token, act=True)


def _view(ctx: Context, token: str, act: bool) -> ConfirmView:
    now = ctx.clock.now()
    consent_id = read_expiring_token(ctx.secret, token[:128], "confirm", now)
    if consent_id is None:
        return ConfirmView(ConfirmState.INVALID)
    with ctx.db.transaction() as connection:
        consent = consents.by_id(connection, consent_id)
        member = None if consent is None else subscribers.by_id(connection,
                                                                consent.subscriber_id)
        if consent is None or member is None or member.id is None:
            return ConfirmView(ConfirmState.INVALID)
        # What confirming applies: this request's choices, exactly (a consent without
        # choices, an import's, leaves the member's own).
        wanted = consent.choices or consents.Choices(
            name=member.name, language=member.language, digests=member.digests,
            themes=member.themes)
        if member.status is SubscriberStatus.BOUNCED:
            state = ConfirmState.BOUNCED
        elif consent.confirmed_at is not None:
            state = ConfirmState.USED
        elif member.status is SubscriberStatus.ACTIVE:
            state = ConfirmState.SUBSCRIBED
        elif not act:
            state = ConfirmState.READY
        elif consents.confirm(connection, consent.id, now):
            suppression.lift(connection, member.email)
            state = ConfirmState.CONFIRMED
        else:  # confirmed by a parallel request an instant ago
            state = ConfirmState.USED
    if state is ConfirmState.CONFIRMED:
        log.info("subscribe: %s confirmed (consent %d)",
                 shown_address(ctx.secret, member.email), consent.id)
    if state not in (ConfirmState.READY, ConfirmState.CONFIRMED):  # nothing applied
        wanted = consents.Choices(name=member.name, language=member.language,
                                  digests=member.digests, themes=member.themes)
    url = preferences_url(ctx.settings, make_token(ctx.secret, member.id, "preferences"))
    return ConfirmView(state, language=wanted.language, email=member.email,
                       digests=wanted.digests, name=wanted.name,
                       themes=wanted.themes,
                       preferences=url if state is not ConfirmState.BOUNCED else "")


def forget_unconfirmed(ctx: Context) -> int:
    """Forget the pending members whose every link has expired unused (housekeeping)."""
    with ctx.db.transaction() as connection:
        forgotten = consents.forget_unconfirmed(connection, ctx.clock.now() - CONFIRM_LIFETIME)
    if forgotten:
        log.info("subscribe: %d unconfirmed address(es) forgotten", forgotten)
    return forgotten


def safely(ctx: Context, request: JoinRequest, limit: AddressLimit) -> None:
    """``request_subscription`` as a background task: whatever fails is logged, since the
    page has answered already (and must answer the same whatever happens)."""
    try:
        request_subscription(ctx, request, limit)
    except (DigestError, InputError, OSError) as exc:
        log.warning("subscribe: request for %s not handled: %s",
                    shown_address(ctx.secret, request.email),
                    scrubbed(ctx.secret, str(exc), request.email))
    except Exception as exc:  # the traceback too, with the address taken out of it
        log.error("subscribe: request for %s failed: %s", shown_address(ctx.secret, request.email),
                  scrubbed(ctx.secret, "".join(traceback.format_exception(exc)), request.email))
