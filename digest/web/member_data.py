"""The member's data rights on the web, reached from their preferences page.

- ``GET /p/<token>/data``: everything kept about the member, as a JSON download;
- ``GET /p/<token>/erase``: what erasing means, and one button (a GET never erases: mail
  scanners and link previews follow links); ``POST /p/<token>/erase``: erase, then a page
  that names no one.

``<token>`` is the member's preferences token: whoever holds the preferences link may read
and erase, as they may already change everything else. A token that does not verify, or
names a member erased since, gets the same 404 page as any unknown link. Every answer is
``no-store`` and sends no referrer; pages speak the member's language (else the browser's).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from digest.jobs.context import Context
from digest.jobs.member_data import as_json, erase_member, export_member
from digest.models import Subscriber
from digest.render.i18n import N_
from digest.store import subscribers
from digest.tokens import read_token
from digest.web import pages
from digest.web.errors import unreadable_form
from digest.web.member_language import page_language
from digest.web.pages import member_page

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex"}
CONFIRM_FIELD, CONFIRM_VALUE = "confirm", "erase"
NOT_CONFIRMED = N_("Press the button to erase your data: nothing was erased.")


def member_data_routes(ctx: Context) -> list[BaseRoute]:
    """The data routes of ``ctx``'s site, for the app's routes list."""
    pages = _DataPages(ctx)
    return [Route("/p/{token}/data", pages.download, methods=["GET"]),
            Route("/p/{token}/erase", pages.erase, methods=["GET", "POST"])]


class _DataPages:
    """The endpoints; the store is synchronous, so its work runs in the thread pool."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _member(self, token: str) -> Subscriber | None:
        member_id = read_token(self.ctx.secret, token, "preferences")
        if member_id is None:
            return None
        with self.ctx.db.transaction() as connection:
            return subscribers.by_id(connection, member_id)

    def _page(self, template: str, title: str, language: str, status: int = 200,
              **values: Any) -> HTMLResponse:
        return HTMLResponse(member_page(self.ctx.settings, template, title, language, **values),
                            status_code=status, headers=PRIVATE)

    def _missing(self, request: Request) -> HTMLResponse:
        language = page_language(request, None, self.ctx.settings.site.language)
        return HTMLResponse(pages.not_found(self.ctx.settings, language), status_code=404,
                            headers=PRIVATE)  # the members' pages' own 404

    async def download(self, request: Request) -> Response:
        return await _in_thread(self._download, request)

    def _download(self, request: Request) -> Response:
        member = self._member(request.path_params["token"])
        data = None if member is None or member.id is None else export_member(self.ctx,
                                                                              member.id)
        if data is None:
            return self._missing(request)
        day = self.ctx.clock.now().date().isoformat()
        return Response(as_json(data).encode("utf-8"), media_type="application/json",
                        headers={**PRIVATE, "Content-Disposition":
                                 f'attachment; filename="my-data-{day}.json"'})

    async def erase(self, request: Request) -> Response:
        """GET: the page and its button; POST: erase. The token is checked before the
        body is read, so a bad link costs no upload."""
        confirmed = False
        if request.method == "POST":
            if read_token(self.ctx.secret, request.path_params["token"], "preferences") is None:
                return await _in_thread(self._missing, request)
            try:
                async with request.form(max_files=0, max_fields=10) as form:
                    confirmed = form.get(CONFIRM_FIELD) == CONFIRM_VALUE
            except HTTPException as exc:  # more fields than the form has, a file...
                unreadable_form(request, exc)
                confirmed = False
        return await _in_thread(lambda r: self._erase(r, confirmed), request)

    def _erase(self, request: Request, confirmed: bool) -> Response:
        token = request.path_params["token"]
        member = self._member(token)
        if member is None or member.id is None:
            return self._missing(request)
        settings = self.ctx.settings
        language = page_language(request, member.language, settings.site.language)
        if request.method == "POST" and confirmed:
            if erase_member(self.ctx, member.id, "member") is None:  # erased meanwhile
                return self._missing(request)
            return self._page("erased", N_("Your data is erased"), language,
                              subscribe_url=f"{settings.site.base_url}/subscribe?lang={language}")
        error = NOT_CONFIRMED if request.method == "POST" else ""
        return self._page("erase", N_("Erase my data"), language,
                          400 if error else 200, email=member.email, token=token,
                          error=error)


async def _in_thread(handler: Any, request: Request) -> Response:
    """Run a store-touching handler off the event loop (the store is synchronous)."""
    from starlette.concurrency import run_in_threadpool

    response: Response = await run_in_threadpool(handler, request)
    return response
