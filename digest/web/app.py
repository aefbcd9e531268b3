"""The members' web app: one-click unsubscribe, preferences, and the published files.

Routes (also under the path of ``site.base_url``, so ``https://host/digest/u/...`` works
behind a proxy that passes the path through as well as one that strips it):

- ``GET /u/<token>``: a page with one button; ``POST /u/<token>`` unsubscribes at once
  (RFC 8058 one-click: mail clients post ``List-Unsubscribe=One-Click``) and answers 200;
- ``GET /p/<token>``, ``POST /p/<token>``: themes and language (and subscribing again);
- ``/admin/...``: the coordinators' console (``digest.web.admin``, docs/console.md);
- ``/editions/``: the list of digests with their archives; ``/editions/<digest>/...``,
  ``/bulletins/``: the web versions and PDFs under ``out/``; ``/feeds/``: the published
  feeds. Read-only, through ``published.PublishedFiles``: ``var/``, the outbox and the
  other private files are never served, whatever the config says.

Every answer carries the security headers (``headers``); every request body is bounded
before it is read (``limits``); redirects are built from ``site.base_url``, never from the
request's Host header (Starlette's own trailing-slash redirects are switched off).

A token that does not verify (``digest.tokens.read_token``: HMAC-SHA256 with the site's
key) changes nothing and gets a 404, the same answer as an unknown member, so the app says
nothing about who is subscribed. Pages with a token are ``no-store`` and send no referrer,
so the token does not leak into caches or other sites' logs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp

from digest.config import database_url
from digest.jobs.context import Context
from digest.jobs.forms import bulletins_folder, digest_folder, published_folders
from digest.languages import is_language_tag
from digest.links import preferences_url
from digest.models import Subscriber, SubscriberStatus
from digest.store import subscribers
from digest.tokens import Purpose, read_token
from digest.web import pages
from digest.web.admin import admin_routes, whole_paths
from digest.web.headers import SecurityHeaders
from digest.web.limits import RequestLimits
from digest.web.member_data import member_data_routes
from digest.web.published import PublishedFiles, private_paths, site_url
from digest.web.subscribe import subscribe_routes

# Languages a member can pick besides the site's and their own: the EU's official ones.
LANGUAGES = ("bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu",
             "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv")
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex"}
Handler = Callable[[Request], Response]


def create_app(ctx: Context) -> ASGIApp:
    """The application for ``ctx``'s site; it opens the store on first use."""
    members = _Members(ctx)
    settings = ctx.settings
    base_url = settings.site.base_url
    private = private_paths(settings, database_url(settings, ctx.env))
    folders = published_folders(settings)

    def published(directory: Path) -> PublishedFiles:
        return PublishedFiles(directory, private, base_url)

    def to_folder(request: Request) -> Response:
        return RedirectResponse(site_url(base_url, request.scope, "/"), status_code=307)

    routes: list[BaseRoute] = [
        Route("/", members.index, methods=["GET", "HEAD"]),
        Route("/u/{token}", members.unsubscribe, methods=["GET", "POST"]),
        Route("/p/{token}", members.preferences, methods=["GET", "POST"]),
        Route("/editions/", members.editions, methods=["GET", "HEAD"]),
        *(Route(f"/{name}", to_folder, methods=["GET", "HEAD"]) for name in folders),
        *(Mount(f"/{name}", published(folder)) for name, folder in folders.items()),
        *admin_routes(ctx),
        *subscribe_routes(ctx),
        *member_data_routes(ctx),
    ]
    prefix = urlsplit(base_url).path.rstrip("/")
    if prefix:
        routes = [Route(prefix, to_folder, methods=["GET", "HEAD"]),
                  whole_paths(Mount(prefix, app=Router(routes=list(routes),
                                                       redirect_slashes=False))),
                  *routes]
    app = Starlette(routes=routes, middleware=[Middleware(RequestLimits)])
    app.router.redirect_slashes = False  # its redirects would trust the Host header
    # Outside Starlette's own error handling, so its 500 page carries the headers too.
    return SecurityHeaders(app)


class _Members:
    """The endpoints; plain functions run in Starlette's thread pool (the store is sync)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _html(self, body: str, status: int = 200, private: bool = True) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers=_PRIVATE if private else None)

    def _member(self, request: Request, purpose: Purpose) -> Subscriber | None:
        member_id = read_token(self.ctx.secret, request.path_params["token"], purpose)
        if member_id is None:
            return None
        with self.ctx.db.transaction() as connection:
            return subscribers.by_id(connection, member_id)

    def _missing(self) -> HTMLResponse:
        return self._html(pages.not_found(self.ctx.settings, self.ctx.settings.site.language), 404)

    def index(self, request: Request) -> Response:
        """Links to what is published: the editions' list always, the bulletins' archive and
        the feeds once they exist (a link that would answer 404 is not shown)."""
        settings = self.ctx.settings
        base = settings.site.base_url
        links = [(pages.EDITIONS, f"{base}/editions/")]
        if (bulletins_folder(settings.out_dir) / "index.html").is_file():
            links.append((pages.BULLETINS, f"{base}/bulletins/"))
        if (settings.feeds_dir / "index.html").is_file():
            links.append((pages.FEEDS, f"{base}/feeds/"))
        return self._html(pages.index(self.ctx.settings, links, settings.site.language),
                          private=False)

    def editions(self, request: Request) -> Response:
        """Each digest, linked to its archive once it has one."""
        settings = self.ctx.settings
        base = settings.site.base_url
        digests = [(digest.title, f"{base}/editions/{digest.id}/"
                    if (digest_folder(settings.out_dir, digest.id) / "index.html").is_file()
                    else None) for digest in settings.digests]
        return self._html(pages.editions(self.ctx.settings, digests, settings.site.language),
                          private=False)

    async def unsubscribe(self, request: Request) -> Response:
        """GET: the one-button page; POST (a one-click client or the button): unsubscribe.

        The token is checked before the body is read: a bad link costs no upload."""
        if request.method == "POST":
            if read_token(self.ctx.secret, request.path_params["token"], "unsubscribe") is None:
                return self._missing()
            await request.body()  # RFC 8058's List-Unsubscribe=One-Click; bounded (limits)
        return await _in_thread(self._unsubscribe, request)

    def _unsubscribe(self, request: Request) -> Response:
        member = self._member(request, "unsubscribe")
        if member is None or member.id is None:
            return self._missing()
        if request.method == "GET":
            return self._html(pages.unsubscribe_form(self.ctx.settings, member.email,
                                                     _same_page(request), member.language))
        with self.ctx.db.transaction() as connection:
            subscribers.set_status_by_id(connection, member.id, SubscriberStatus.UNSUBSCRIBED)
        return self._html(pages.unsubscribed(
            self.ctx.settings, member.email, self._preferences_link(member.id), member.status,
            member.language))

    def _preferences_link(self, member_id: int) -> str:
        from digest.tokens import make_token

        return preferences_url(self.ctx.settings,
                               make_token(self.ctx.secret, member_id, "preferences"))

    async def preferences(self, request: Request) -> Response:
        form: dict[str, list[str]] = {}
        if request.method == "POST":
            # The token first: a stranger's body is never parsed (see unsubscribe).
            if read_token(self.ctx.secret, request.path_params["token"], "preferences") is None:
                return self._missing()
            try:
                async with request.form(max_files=0, max_fields=100) as data:
                    for key, value in data.multi_items():
                        if isinstance(value, str):
                            form.setdefault(key, []).append(value)
            except HTTPException:  # more fields than any preferences form has, a file...
                return await _in_thread(lambda r: self._preferences(r, form, bad=True),
                                        request)
        return await _in_thread(lambda r: self._preferences(r, form), request)

    def _preferences(self, request: Request, form: dict[str, list[str]],
                     bad: bool = False) -> Response:
        """The preferences page; a POST saves the choice (``bad``: a form that could not be
        read, answered as an unknown choice, nothing changed)."""
        member = self._member(request, "preferences")
        if member is None or member.id is None:
            return self._missing()
        settings = self.ctx.settings
        themes = {slug: theme.title for slug, theme in settings.themes.items()}
        languages = self._languages(member.language)
        chosen, language, status = list(member.themes), member.language, member.status
        message = ""
        if request.method == "POST":
            chosen = form.get("themes", [])
            language = (form.get("language") or [member.language])[-1]
            unknown = [t for t in chosen if t not in themes]
            if bad or unknown or language not in languages:
                page = pages.preferences_form(self.ctx.settings, member.email,
                                              _same_page(request), themes, member.themes,
                                              languages, member.language, status,
                                              error=pages.UNKNOWN_CHOICE)
                return self._html(page, 400)
            with self.ctx.db.transaction() as connection:
                subscribers.set_preferences(connection, member.id, chosen, language)
                message = pages.SAVED
                if form.get("subscribe") and status is SubscriberStatus.BOUNCED:
                    message = pages.BOUNCED_NOT_SUBSCRIBED  # the truth, not "Saved."
                elif form.get("subscribe") and subscribers.reactivate(connection, member.id):
                    status, message = SubscriberStatus.ACTIVE, pages.SAVED_AND_SUBSCRIBED
        return self._html(pages.preferences_form(
            self.ctx.settings, member.email, _same_page(request), themes, chosen, languages,
            language, status, message=message))

    def _languages(self, current: str) -> dict[str, str]:
        codes = sorted({*LANGUAGES, self.ctx.settings.site.language, current})
        return {code: _language_name(code) for code in codes if is_language_tag(code)}


def _same_page(request: Request) -> str:
    """A form's action that posts back to the page it is on: the token alone, relative, so
    it stays right under any path prefix (a proxy that strips ``/digest`` or keeps it)."""
    return str(request.path_params["token"])


def _language_name(code: str) -> str:
    """A language's own name ("Deutsch"), or the code when Babel does not know it."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return code
    return f"{name[:1].upper()}{name[1:]} ({code})" if name else code


async def _in_thread(handler: Handler, request: Request) -> Response:
    """Run a store-touching handler off the event loop (the store is synchronous)."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(handler, request)
