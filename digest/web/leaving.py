"""Unsubscribing: ``GET /u/<token>`` shows what stops, ``POST`` stops it at once.

An email's link names its digest (``/u/<token>?digest=weekly``; a bulletin's names
``bulletins.audience``, whose followers receive bulletins). What a POST stops:

- the form's ``stop`` field when the button page sent one (``all`` or a digest id);
- else the link's digest: RFC 8058's one-click (mail clients post
  ``List-Unsubscribe=One-Click`` to the link) stops the digest of the email it came in;
- else, or when the id is no digest of the config (a digest since removed), everything:
  an unsubscribe link must never leave mail coming.

Stopping the last digest a member follows is leaving (``store.member_digests``); stopping
a digest they no longer follow changes nothing (an old email's link does not stop the
rest). Only a POST changes anything: a GET (mail scanners follow links), a HEAD (which
Starlette answers on every GET route), or any other method shows the button page. A
posted body that is not a form (malformed multipart...) still stops the link's digest:
the POST to the signed link is the member's click, and a mail client's one-click must not
fail on how it wrote its body; it is logged in one line.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from digest.jobs.context import Context
from digest.models import Subscriber, SubscriberStatus
from digest.store import member_digests, subscribers
from digest.store.member_digests import Stopped
from digest.tokens import read_token
from digest.web import pages
from digest.web.errors import unreadable_form
from digest.web.member_access import (
    html,
    in_thread,
    language_of,
    member_of,
    missing,
    preferences_link,
    same_page,
)

EVERYTHING = "all"
MAX_FIELDS = 10  # a one-click body has one; the button page's form two


class Leaving:
    """The ``/u/<token>`` endpoint of ``ctx``'s site (``handle``)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def handle(self, request: Request) -> Response:
        """The token is checked before the body is read: a bad link costs no upload."""
        stop = ""
        if request.method == "POST":
            if read_token(self.ctx.secret, request.path_params["token"], "unsubscribe") is None:
                return await in_thread(lambda r: missing(self.ctx, r), request)
            try:  # the body is bounded (limits)
                async with request.form(max_files=0, max_fields=MAX_FIELDS) as form:
                    value = form.get("stop")
                    stop = value if isinstance(value, str) else ""
            except HTTPException as exc:  # not a form (malformed multipart...): logged, and
                unreadable_form(request, exc)  # it still stops the link's digest: a mail
                stop = ""  # client's one-click must never need a second try (RFC 8058)
        return await in_thread(lambda r: self._answer(r, stop), request)

    def _titles(self) -> dict[str, str]:
        return {digest.id: digest.title for digest in self.ctx.settings.digests}

    def _audience(self) -> str | None:
        bulletins = self.ctx.settings.bulletins
        return bulletins.audience if bulletins else None

    def _answer(self, request: Request, stop: str) -> Response:
        member = member_of(self.ctx, request, "unsubscribe")
        if member is None or member.id is None:
            return missing(self.ctx, request)
        named = request.query_params.get("digest", "")
        if request.method != "POST":
            return self._form(request, member, named)
        scope = stop or named or EVERYTHING
        if scope not in self._titles():
            scope = EVERYTHING
        with self.ctx.db.transaction() as connection:
            if scope == EVERYTHING:
                subscribers.set_status_by_id(connection, member.id,
                                             SubscriberStatus.UNSUBSCRIBED)
                outcome = Stopped.EVERYTHING
            else:
                outcome = member_digests.stop_digest(connection, member.id, scope)
            now = subscribers.by_id(connection, member.id) or member
        return self._done(request, now, outcome, scope)

    def _form(self, request: Request, member: Subscriber, named: str) -> Response:
        """The button page: what the member receives, and what each button stops."""
        assert member.id is not None
        titles = self._titles()
        active = member.status is SubscriberStatus.ACTIVE
        followed = [d for d in titles if d in member.digests] if active else []
        audience = self._audience()
        only = named if named in followed and len(followed) > 1 else None
        return html(pages.unsubscribe_form(
            self.ctx.settings, member.email, same_page(request), language_of(
                self.ctx, request, member),
            followed=[titles[d] for d in followed],
            bulletins=titles.get(audience or "") if audience in followed else None,
            only=(only, titles[only]) if only else None,
            only_stops_bulletins=bool(only) and only == audience,
            active=active, preferences=preferences_link(self.ctx, member.id)))

    def _done(self, request: Request, member: Subscriber, outcome: Stopped,
              scope: str) -> Response:
        """The answer: what stopped, and what still comes."""
        assert member.id is not None
        titles = self._titles()
        audience = self._audience()
        left = ([d for d in titles if d in member.digests]
                if member.status is SubscriberStatus.ACTIVE else [])
        return html(pages.unsubscribed(
            self.ctx.settings, member.email, preferences_link(self.ctx, member.id),
            member.status, language_of(self.ctx, request, member),
            outcome=outcome.value if outcome in (Stopped.DIGEST, Stopped.NOT_FOLLOWED)
            else Stopped.EVERYTHING.value,
            digest=titles.get(scope, ""),
            left=[titles[d] for d in left],
            bulletins_stopped=outcome is Stopped.DIGEST and scope == audience,
            bulletins_left=titles.get(audience or "") if audience in left else None))
