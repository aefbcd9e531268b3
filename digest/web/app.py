"""The members' web app: one-click unsubscribe, preferences, and the published files.

Routes (also under the path of ``site.base_url``, so ``https://host/digest/u/...`` works
behind a proxy that passes the path through as well as one that strips it):

- ``GET /u/<token>``: a page with one button; ``POST /u/<token>`` unsubscribes at once
  (RFC 8058 one-click: mail clients post ``List-Unsubscribe=One-Click``) and answers 200:
  the email's digest, or everything (``leaving``);
- ``GET /p/<token>``, ``POST /p/<token>``: digests, themes and language (and subscribing
  again) (``preferences``);
- ``/subscribe``, ``/confirm/<token>``: joining (``subscribe``), linked from the front page;
- ``/admin/...``: the coordinators' console (``digest.web.admin``, docs/console.md);
- ``/editions/``: the list of digests with their archives; ``/editions/<digest>/...``,
  ``/bulletins/``: the web versions and PDFs under ``out/``; ``/feeds/``: the published
  feeds. Read-only, through ``published.PublishedFiles``: ``var/``, the outbox and the
  other private files are never served, whatever the config says.

Every answer carries the security headers (``headers``); every error is an HTML page
(``errors``), never a traceback; every request body is bounded
before it is read (``limits``); redirects are built from ``site.base_url``, never from the
request's Host header (Starlette's own trailing-slash redirects are switched off).

A token that does not verify changes nothing and gets a 404, the same answer as an unknown
member (``member_access``). Every member's page speaks the member's language, else the
visitor's (``Accept-Language``), among the languages with a catalog.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp

from digest.config import database_url
from digest.jobs.context import Context
from digest.jobs.forms import bulletins_folder, digest_folder, published_folders
from digest.web import pages
from digest.web.admin import admin_routes, whole_paths
from digest.web.errors import ServerErrors, exception_handlers, quiet_form_parser, refusal_page
from digest.web.headers import SecurityHeaders
from digest.web.join_pages import SUBSCRIBE
from digest.web.leaving import Leaving
from digest.web.limits import RequestLimits
from digest.web.member_access import html, language_of
from digest.web.member_data import member_data_routes
from digest.web.preferences import Preferences
from digest.web.published import PublishedFiles, private_paths, site_url
from digest.web.subscribe import subscribe_routes


def create_app(ctx: Context) -> ASGIApp:
    """The application for ``ctx``'s site; it opens the store on first use."""
    quiet_form_parser()
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
        Route("/u/{token}", Leaving(ctx).handle, methods=["GET", "POST"]),
        Route("/p/{token}", Preferences(ctx).handle, methods=["GET", "POST"]),
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
    app = Starlette(routes=routes, middleware=[Middleware(RequestLimits, page=refusal_page(ctx))],
                    exception_handlers=exception_handlers(ctx))
    app.router.redirect_slashes = False  # its redirects would trust the Host header
    # Outside Starlette's own error handling, so its 500 page carries the headers too.
    return SecurityHeaders(ServerErrors(app, refusal_page(ctx)))


class _Members:
    """The public pages; plain functions run in Starlette's thread pool."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def index(self, request: Request) -> Response:
        """Links to what is published: the editions' list and the subscribe page always,
        the bulletins' archive and the feeds once they exist (a link that would answer 404
        is not shown)."""
        settings = self.ctx.settings
        base = settings.site.base_url
        links = [(pages.EDITIONS, f"{base}/editions/"), (SUBSCRIBE, f"{base}/subscribe")]
        if (bulletins_folder(settings.out_dir) / "index.html").is_file():
            links.append((pages.BULLETINS, f"{base}/bulletins/"))
        if (settings.feeds_dir / "index.html").is_file():
            links.append((pages.FEEDS, f"{base}/feeds/"))
        return html(pages.index(settings, links, language_of(self.ctx, request)),
                    private=False)

    def editions(self, request: Request) -> Response:
        """Each digest, linked to its archive once it has one."""
        settings = self.ctx.settings
        base = settings.site.base_url
        digests = [(digest.title, f"{base}/editions/{digest.id}/"
                    if (digest_folder(settings.out_dir, digest.id) / "index.html").is_file()
                    else None) for digest in settings.digests]
        return html(pages.editions(settings, digests, language_of(self.ctx, request)),
                    private=False)
