"""The members' web app: one-click unsubscribe, preferences, and the published files.

Routes (also under the path of ``site.base_url``, so ``https://host/digest/u/...`` works
behind a proxy that passes the path through as well as one that strips it):

- ``GET /u/<token>``: a page with one button; ``POST /u/<token>`` unsubscribes at once
  (RFC 8058 one-click: mail clients post ``List-Unsubscribe=One-Click``) and answers 200;
- ``GET /p/<token>``, ``POST /p/<token>``: themes and language (and subscribing again);
- ``/editions/``, ``/bulletins/``: the web versions and PDFs under ``out/``; ``/feeds/``:
  the published feeds. Read-only; ``out/outbox/`` (every member's messages) is never served.

A token that does not verify (``digest.tokens.read_token``: HMAC-SHA256 with the site's
key) changes nothing and gets a 404, the same answer as an unknown member, so the app says
nothing about who is subscribed. Pages with a token are ``no-store`` and send no referrer,
so the token does not leak into caches or other sites' logs.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from digest.context import Context
from digest.languages import is_language_tag
from digest.links import preferences_url
from digest.models import Subscriber, SubscriberStatus
from digest.store import subscribers
from digest.tokens import Purpose, read_token
from digest.web import pages

# Languages a member can pick besides the site's and their own: the EU's official ones.
LANGUAGES = ("bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu",
             "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv")
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex"}
Handler = Callable[[Request], Response]


def create_app(ctx: Context) -> Starlette:
    """The application for ``ctx``'s site; it opens the store on first use."""
    members = _Members(ctx)
    settings = ctx.settings
    routes: list[BaseRoute] = [
        Route("/", members.index, methods=["GET"]),
        Route("/u/{token}", members.unsubscribe, methods=["GET", "POST"]),
        Route("/p/{token}", members.preferences, methods=["GET", "POST"]),
        Mount("/editions", StaticFiles(directory=settings.out_dir / "editions", html=True,
                                       check_dir=False)),
        Mount("/bulletins", StaticFiles(directory=settings.out_dir / "bulletins", html=True,
                                        check_dir=False)),
        Mount("/feeds", StaticFiles(directory=settings.feeds_dir, html=True, check_dir=False)),
    ]
    prefix = urlsplit(settings.site.base_url).path.rstrip("/")
    if prefix:
        routes = [Mount(prefix, routes=list(routes)), *routes]
    return Starlette(routes=routes)


class _Members:
    """The endpoints; plain functions run in Starlette's thread pool (the store is sync)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.title = ctx.settings.site.title

    def _html(self, body: str, status: int = 200, private: bool = True) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers=_PRIVATE if private else None)

    def _member(self, request: Request, purpose: Purpose) -> Subscriber | None:
        member_id = read_token(self.ctx.secret, request.path_params["token"], purpose)
        if member_id is None:
            return None
        with self.ctx.db.transaction() as connection:
            return subscribers.by_id(connection, member_id)

    def _missing(self) -> HTMLResponse:
        return self._html(pages.not_found(self.title), 404)

    def index(self, request: Request) -> Response:
        base = self.ctx.settings.site.base_url
        return self._html(pages.index(self.title, f"{base}/feeds/", f"{base}/editions/",
                                      f"{base}/bulletins/"), private=False)

    async def unsubscribe(self, request: Request) -> Response:
        """GET: the one-button page; POST (a one-click client or the button): unsubscribe."""
        if request.method == "POST":
            await request.body()  # read whatever was posted (RFC 8058: List-Unsubscribe=...)
        return await _in_thread(self._unsubscribe, request)

    def _unsubscribe(self, request: Request) -> Response:
        member = self._member(request, "unsubscribe")
        if member is None or member.id is None:
            return self._missing()
        if request.method == "GET":
            return self._html(pages.unsubscribe_form(self.title, member.email,
                                                     str(request.url.path)))
        with self.ctx.db.transaction() as connection:
            subscribers.set_status_by_id(connection, member.id, SubscriberStatus.UNSUBSCRIBED)
        return self._html(pages.unsubscribed(
            self.title, member.email, self._preferences_link(member.id)))

    def _preferences_link(self, member_id: int) -> str:
        from digest.tokens import make_token

        return preferences_url(self.ctx.settings,
                               make_token(self.ctx.secret, member_id, "preferences"))

    async def preferences(self, request: Request) -> Response:
        form: dict[str, list[str]] = {}
        if request.method == "POST":
            async with request.form(max_files=0, max_fields=100) as data:
                for key, value in data.multi_items():
                    if isinstance(value, str):
                        form.setdefault(key, []).append(value)
        return await _in_thread(lambda r: self._preferences(r, form), request)

    def _preferences(self, request: Request, form: dict[str, list[str]]) -> Response:
        member = self._member(request, "preferences")
        if member is None or member.id is None:
            return self._missing()
        settings = self.ctx.settings
        themes = {slug: theme.title for slug, theme in settings.themes.items()}
        languages = self._languages(member.language)
        chosen, language, message, error = list(member.themes), member.language, "", ""
        subscribed = member.status is SubscriberStatus.ACTIVE
        if request.method == "POST":
            chosen = form.get("themes", [])
            language = (form.get("language") or [member.language])[-1]
            unknown = [t for t in chosen if t not in themes]
            if unknown or language not in languages:
                error = "Unknown theme or language: nothing was changed."
                page = pages.preferences_form(self.title, member.email, str(request.url.path),
                                              themes, member.themes, languages,
                                              member.language, subscribed, error=error)
                return self._html(page, 400)
            with self.ctx.db.transaction() as connection:
                subscribers.set_preferences(connection, member.id, chosen, language)
                if form.get("subscribe") and member.status is SubscriberStatus.UNSUBSCRIBED:
                    subscribers.reactivate(connection, member.id)
                    subscribed = True
            message = "Saved."
        return self._html(pages.preferences_form(
            self.title, member.email, str(request.url.path), themes, chosen, languages,
            language, subscribed, message=message, error=error))

    def _languages(self, current: str) -> dict[str, str]:
        codes = sorted({*LANGUAGES, self.ctx.settings.site.language, current})
        return {code: _language_name(code) for code in codes if is_language_tag(code)}


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
