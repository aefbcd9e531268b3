"""Joining on the web: ``/subscribe``, ``/subscribe/embed`` and ``/confirm/<token>``.

- ``GET /subscribe``: the form, in ``?lang=`` if it names a language with a catalog, else
  the browser's (``Accept-Language``), else the site's.
- ``POST /subscribe``: a form with errors is shown again (400), each error beside its
  field, in the page's language. Otherwise the answer is the same page for every address
  ("if this address can be subscribed, a link is on its way"), and the work is done after
  it is sent (``jobs.joining.request_subscription``), so neither the page nor its timing
  says who is subscribed. A filled honeypot field gets the same answer and nothing else.
  Each client (IP address) may post ``CLIENT_REQUESTS`` times per ``CLIENT_WINDOW``; beyond,
  429. A public signup has no session to protect: posts from other sites are accepted
  (that is what the embedded form does), guarded by the honeypot and the limits.
- ``GET /subscribe/embed``: the HTML snippet another website pastes (``source=embed``).
- ``GET /confirm/<token>`` shows one button (mail scanners follow links, so a GET never
  confirms); ``POST`` confirms. Both speak the member's chosen language; an expired or
  broken link gets a 404 page in the visitor's language saying to subscribe again.
"""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from digest.jobs import joining
from digest.jobs.context import Context
from digest.jobs.join_form import read_join_form
from digest.jobs.joining import AddressLimit, ConfirmState
from digest.web import join_pages
from digest.web.admin.access import read_form
from digest.web.admin.login import ClientLimit
from digest.web.member_language import page_language, speakable

CLIENT_REQUESTS = 10
CLIENT_WINDOW = 15 * 60.0  # seconds
MAX_FIELD_BYTES = 2048
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex"}


class _Joining:
    """The endpoints, with this process's limits."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.clients = ClientLimit(CLIENT_REQUESTS, CLIENT_WINDOW)
        self.addresses = AddressLimit()

    def _language(self, request: Request, chosen: str | None = None) -> str:
        """``chosen`` (a form's or ``?lang=``'s) when spoken, else the visitor's."""
        return speakable(chosen) or page_language(request, None,
                                                  self.ctx.settings.site.language)

    def _html(self, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers=_PRIVATE)

    async def form(self, request: Request) -> Response:
        language = self._language(request, request.query_params.get("lang", "")[:35])
        return self._html(join_pages.join_form(self.ctx.settings, language, "subscribe"))

    async def ask(self, request: Request) -> Response:
        settings = self.ctx.settings
        client = request.client.host if request.client else "-"
        if not self.clients.allow(client):
            language = self._language(request)
            return self._html(join_pages.join_form(settings, language, "subscribe",
                                                   message=join_pages.TOO_MANY), 429)
        posted = await read_form(request, MAX_FIELD_BYTES)
        language = self._language(request, ((posted or {}).get("lang") or [""])[-1][:35])
        action = "subscribe"  # relative: right under any path prefix
        if posted is None:
            form = read_join_form(settings, {}, language)
            return self._html(join_pages.join_form(settings, language, action, form), 400)
        sent = self._html(join_pages.join_sent(settings, language, action))
        if any(value.strip() for value in posted.get("website", [])):  # the honeypot
            return sent
        form = read_join_form(settings, posted, language)
        if form.request is None:
            return self._html(join_pages.join_form(settings, language, action, form), 400)
        sent.background = BackgroundTask(joining.safely, self.ctx, form.request,
                                         self.addresses)
        return sent

    async def embed(self, request: Request) -> Response:
        language = self._language(request, request.query_params.get("lang", "")[:35])
        return HTMLResponse(join_pages.embed(self.ctx.settings, language))

    async def confirm(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        act = request.method == "POST"
        view = await run_in_threadpool(joining.confirm if act else joining.look_up,
                                       self.ctx, token)
        language = self._language(request, view.language)
        subscribe = f"{self.ctx.settings.site.base_url}/subscribe?lang={language}"
        page = join_pages.confirm(self.ctx.settings, view, language, token, subscribe)
        return self._html(page, 404 if view.state is ConfirmState.INVALID else 200)


def subscribe_routes(ctx: Context) -> list[BaseRoute]:
    """The joining routes, for ``web.app``'s list (also served under the base path)."""
    joining_ = _Joining(ctx)
    return [
        Route("/subscribe", joining_.form, methods=["GET", "HEAD"]),
        Route("/subscribe", joining_.ask, methods=["POST"]),
        Route("/subscribe/embed", joining_.embed, methods=["GET", "HEAD"]),
        Route("/confirm/{token}", joining_.confirm, methods=["GET", "HEAD", "POST"]),
    ]
