"""Signing in and out: ``/admin/login`` (the address form), ``/admin/login/<token>`` (the
link from the email) and ``/admin/logout``.

- ``POST /admin/login`` answers at once with the same page for every address; the lookup,
  the per-address limit and the mail are done after the answer is sent (a background
  task), so neither the page nor its timing says whether the address is a coordinator's.
  Each client (IP address) may ask ``CLIENT_REQUESTS`` times per ``CLIENT_WINDOW``
  (counted in this process); beyond, 429.
- ``GET /admin/login/<token>`` only shows a button: mail scanners follow links, and must
  not use up the single use. ``POST`` uses the link and sets the session cookie
  (HttpOnly, SameSite=Lax, Path ``<base path>/admin``, Secure when ``base_url`` is https).
- ``POST /admin/logout`` ends the session (with the CSRF token of the page it came from).

A form posted to the sign-in routes from another site's page is refused (403): nobody can
be signed in, nor sent links in bulk, by someone else's page.
"""

from __future__ import annotations

import time

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from digest.jobs import sign_in
from digest.jobs.rate_limit import RecentEvents
from digest.render.i18n import N_
from digest.web.admin.access import COOKIE, Console, Form, SignedIn, read_form

CLIENT_REQUESTS = 10
CLIENT_WINDOW = 15 * 60.0  # seconds
SIGN_IN = N_("Sign in")
LINK_SENT = N_("If this address belongs to a coordinator, a sign-in link is on its way. "
               "It is valid for 15 minutes, once.")
TOO_MANY = N_("Too many requests from this connection. Try again in a few minutes.")
LINK_NOT_VALID = N_("This sign-in link is not valid: it was used already, it expired, or "
                    "it was mistyped. Ask for a new one below.")
SIGNED_OUT = N_("You are signed out.")
MAX_EMAIL = 320


class ClientLimit:
    """At most ``limit`` events per ``window`` seconds per key, in memory (one process),
    for a bounded number of keys (``RecentEvents``)."""

    def __init__(self, limit: int = CLIENT_REQUESTS, window: float = CLIENT_WINDOW) -> None:
        self.events = RecentEvents(limit, window)

    def allow(self, key: str) -> bool:
        return self.events.allow(key, time.monotonic())


class _Login:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.clients = ClientLimit()

    async def form(self, request: Request) -> Response:
        who = await run_in_threadpool(self.console.who, request)
        if who is not None:
            return RedirectResponse(self.console.url("/"), status_code=303)
        return self._page(request)

    def _page(self, request: Request, status: int = 200, message: str = "",
              error: str = "", email: str = "") -> Response:
        return self.console.render(request, None, "login.html.j2", title=SIGN_IN,
                                   status=status, message=message, error=error, email=email,
                                   action=self.console.url("/login"))

    async def ask(self, request: Request) -> Response:
        client = request.client.host if request.client else "-"
        if self.console.foreign(request):
            return self.console.forbidden(request, None)
        if not self.clients.allow(client):
            return self._page(request, status=429, error=TOO_MANY)
        form = await read_form(request, 4096) or {}
        email = (form.get("email") or [""])[-1].strip()[:MAX_EMAIL]
        response = self._page(request, message=LINK_SENT)
        settings = self.console.coordinators()
        if email and settings is not None:
            language = self.console.language(request)
            response.background = BackgroundTask(sign_in.request_link, self.console.ctx,
                                                 email, language, settings)
        return response

    async def link(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        usable = len(token) <= 128 and await run_in_threadpool(
            sign_in.link_usable, self.console.ctx, token)
        if not usable:
            return self._page(request, status=404, error=LINK_NOT_VALID)
        return self.console.render(request, None, "login_link.html.j2", title=SIGN_IN,
                                   action=self.console.url(f"/login/{token}"))

    async def use(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        if self.console.foreign(request):
            return self.console.forbidden(request, None)
        session, settings = None, self.console.coordinators()
        if len(token) <= 128 and settings is not None:
            session = await run_in_threadpool(sign_in.sign_in, self.console.ctx, token,
                                              settings)
        if session is None:
            return self._page(request, status=404, error=LINK_NOT_VALID)
        if previous := request.cookies.get(COOKIE, ""):  # this browser's older session
            await run_in_threadpool(sign_in.sign_out, self.console.ctx, previous[:128])
        response = RedirectResponse(self.console.url("/"), status_code=303,
                                    headers={"Cache-Control": "no-store"})
        response.set_cookie(COOKIE, session, max_age=int(sign_in.SESSION_ABSOLUTE
                                                         .total_seconds()),
                            path=self.console.cookie_path, secure=self.console.secure,
                            httponly=True, samesite="lax")
        return response

    async def logout(self, request: Request, who: SignedIn, form: Form) -> Response:
        token = request.cookies.get(COOKIE, "")
        await run_in_threadpool(sign_in.sign_out, self.console.ctx, token)
        response = self._page(request, message=SIGNED_OUT)
        response.delete_cookie(COOKIE, path=self.console.cookie_path, secure=self.console.secure,
                               httponly=True, samesite="lax")
        return response


def routes(console: Console) -> list[BaseRoute]:
    login = _Login(console)
    return [
        Route("/login", login.form, methods=["GET", "HEAD"]),
        Route("/login", login.ask, methods=["POST"]),
        Route("/login/{token}", login.link, methods=["GET", "HEAD"]),
        Route("/login/{token}", login.use, methods=["POST"]),
        Route("/logout", console.action("view", login.logout), methods=["POST"]),
    ]
