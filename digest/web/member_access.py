"""What every member's page shares: the member a signed link names, the page's language,
the answer's headers, the page that says a link is not valid.

A token that does not verify (``digest.tokens.read_token``) names nobody: the answer is the
same 404 as for an unknown member, so the app says nothing about who is subscribed. Pages
with a token are ``no-store`` and send no referrer, so the token does not leak into caches
or other sites' logs. A page's language is the member's (``member_language``), else the
visitor's ``Accept-Language``: public pages say so in ``Vary``, for caches.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from digest.jobs.context import Context
from digest.links import preferences_url
from digest.models import Subscriber
from digest.store import subscribers
from digest.tokens import Purpose, make_token, read_token
from digest.web import pages
from digest.web.member_language import page_language

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex"}
PUBLIC = {"Vary": "Accept-Language"}
Handler = Callable[[Request], Response]


def html(body: str, status: int = 200, private: bool = True) -> HTMLResponse:
    """A page: private (a member's, behind a token) or public (cacheable per language)."""
    return HTMLResponse(body, status_code=status, headers=PRIVATE if private else PUBLIC)


def member_of(ctx: Context, request: Request, purpose: Purpose) -> Subscriber | None:
    """The member the link's token names for ``purpose``, or None (bad token, unknown)."""
    member_id = read_token(ctx.secret, request.path_params["token"], purpose)
    if member_id is None:
        return None
    with ctx.db.transaction() as connection:
        return subscribers.by_id(connection, member_id)


def language_of(ctx: Context, request: Request, member: Subscriber | None = None) -> str:
    """The page's language: the member's when they have one with a catalog, else the
    browser's, else the site's."""
    return page_language(request, member.language if member else None,
                         ctx.settings.site.language)


def missing(ctx: Context, request: Request) -> HTMLResponse:
    """The 404 of a link that names nobody, in the visitor's language."""
    return html(pages.not_found(ctx.settings, language_of(ctx, request)), 404)


def preferences_link(ctx: Context, member_id: int) -> str:
    """The member's own preferences page."""
    return preferences_url(ctx.settings, make_token(ctx.secret, member_id, "preferences"))


def same_page(request: Request) -> str:
    """A form's action that posts back to the page it is on: the token alone, relative, so
    it stays right under any path prefix (a proxy that strips ``/digest`` or keeps it)."""
    return str(request.path_params["token"])


async def in_thread(handler: Handler, request: Request) -> Response:
    """Run a store-touching handler off the event loop (the store is synchronous)."""
    return await run_in_threadpool(handler, request)
