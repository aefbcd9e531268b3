"""Signing coordinators in to the console: single-use links by email, then sessions.

- A link (``/admin/login/<token>``) is valid ``LINK_LIFETIME`` and once; the store keeps
  only the token's SHA-256. An address gets at most ``LINKS_PER_ADDRESS`` links by email
  in ``LINK_LIFETIME`` (counted in the store, so every process agrees); ``digest
  coordinators link`` makes one whatever the count (an operator at the server asks), and
  the links it prints are not counted.
- A session is a random token in a cookie, its SHA-256 in the store; it ends at sign-out,
  after ``SESSION_IDLE`` without a request, or ``SESSION_ABSOLUTE`` after sign-in, and as
  soon as its address is no longer a coordinator in the config.
- ``request_link`` does the same work, answers nothing, for a known or unknown address: the
  web app runs it after its answer is sent, so the answer says nothing about the address.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from datetime import timedelta

from digest.config import Settings
from digest.config.coordinators import Access, coordinator_access
from digest.errors import DeliveryError
from digest.jobs.context import Context
from digest.jobs.logged_address import scrubbed, shown_address
from digest.mail.message import Envelope, MessageFactory, Recipient, make_message_id
from digest.models import RenderedEmail
from digest.render.i18n import N_, translate
from digest.render.templating import base_context, render_template
from digest.store import console_access
from digest.store.console_access import Session

LINK_LIFETIME = timedelta(minutes=15)
LINKS_PER_ADDRESS = 3  # by email, per LINK_LIFETIME
SESSION_IDLE = timedelta(hours=2)
SESSION_ABSOLUTE = timedelta(hours=12)
LINK_SUBJECT = N_("Your sign-in link to the console")
log = logging.getLogger("digest.console")
# Counting an address's links and adding one are one step for the web app's threads (one
# `digest serve` per store: the scheduler's lock), so parallel requests cannot pass the limit.
_LIMIT_LOCK = threading.Lock()


def token_hash(token: str) -> str:
    """What the store keeps of a link's or a session's token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def login_url(ctx: Context, token: str) -> str:
    return f"{ctx.settings.site.base_url}/admin/login/{token}"


def issue_link(ctx: Context, email: str, settings: Settings | None = None, *,
               emailed: bool = False) -> str | None:
    """A new sign-in link for a coordinator of ``settings`` (default: the context's; None
    for any other address): its URL. ``emailed``: it is to be mailed, and counts for the
    address's limit (a printed one does not)."""
    access = coordinator_access(settings or ctx.settings, email)
    if access is None:
        return None
    token, now = secrets.token_urlsafe(32), ctx.clock.now()
    with ctx.db.transaction() as connection:
        console_access.forget(connection, now - SESSION_ABSOLUTE)
        console_access.add_link(connection, token_hash(token), access.email, now,
                                LINK_LIFETIME, emailed=emailed)
    return login_url(ctx, token)


def request_link(ctx: Context, email: str, language: str,
                 settings: Settings | None = None) -> bool:
    """Mail a sign-in link to ``email`` if it is a coordinator's and under its rate limit;
    whether one was sent (for logs and tests: never shown to the one who asked)."""
    access = coordinator_access(settings or ctx.settings, email)
    if access is None:
        return False
    with _LIMIT_LOCK:
        now = ctx.clock.now()
        with ctx.db.transaction() as connection:
            recent = console_access.links_since(connection, access.email, now - LINK_LIFETIME)
        if recent >= LINKS_PER_ADDRESS:
            log.warning("console: sign-in link for %s not sent: %d already in %s",
                        shown_address(ctx.secret, access.email), recent, LINK_LIFETIME)
            return False
        url = issue_link(ctx, access.email, settings, emailed=True)
    if url is None:
        return False
    try:
        with ctx.open_transport() as transport:
            transport.send(_link_message(ctx, access, url, language))
    except (DeliveryError, OSError) as exc:
        log.warning("console: sign-in link for %s not sent: %s",
                    shown_address(ctx.secret, access.email),
                    scrubbed(ctx.secret, str(exc), access.email))
        return False
    return True


def _link_message(ctx: Context, access: Access, url: str, language: str) -> Envelope:
    """The link email: plain text and HTML from ``templates/*/console_link``."""
    settings = ctx.settings
    values = {**base_context(settings, language), "url": url, "name": access.name,
              "minutes": int(LINK_LIFETIME.total_seconds() // 60)}
    subject = translate(language, LINK_SUBJECT)
    rendered = RenderedEmail(
        subject=subject, preheader="", mjml="", language=language,
        html=render_template(settings, "email/console_link.html.j2",
                             {**values, "subject": subject}),
        text=render_template(settings, "text/console_link.txt.j2", values))
    factory = MessageFactory(rendered, settings, "console", ctx.clock.now())
    recipient = Recipient(email=access.email, name=access.name, unsubscribe_url="",
                          preferences_url="")
    message_id = make_message_id(settings, f"console/link/{secrets.token_hex(8)}",
                                 access.email)
    return factory.build(recipient, message_id)


def sign_in(ctx: Context, token: str, settings: Settings | None = None) -> str | None:
    """Use a link: a new session's token, or None (unknown, used or expired link, or an
    address no longer a coordinator of ``settings``)."""
    now = ctx.clock.now()
    session = secrets.token_urlsafe(32)
    with ctx.db.transaction() as connection:
        email = console_access.use_link(connection, token_hash(token), now)
        if email is None or coordinator_access(settings or ctx.settings, email) is None:
            return None
        console_access.open_session(connection, token_hash(session), email, now)
    return session


def link_usable(ctx: Context, token: str) -> bool:
    with ctx.db.transaction() as connection:
        return console_access.link_usable(connection, token_hash(token), ctx.clock.now())


def signed_in(ctx: Context, session: str, active: bool = True,
              settings: Settings | None = None) -> tuple[Session, Access] | None:
    """The live session of this cookie and its coordinator's roles now; else None.
    ``active`` False: a page's own background refresh, which does not keep it alive."""
    with ctx.db.transaction() as connection:
        found = console_access.live_session(connection, token_hash(session), ctx.clock.now(),
                                            idle=SESSION_IDLE, absolute=SESSION_ABSOLUTE,
                                            touch=active)
    if found is None:
        return None
    access = coordinator_access(settings or ctx.settings, found.email)
    return (found, access) if access is not None else None


def sign_out(ctx: Context, session: str) -> None:
    with ctx.db.transaction() as connection:
        console_access.end_session(connection, token_hash(session), ctx.clock.now())
