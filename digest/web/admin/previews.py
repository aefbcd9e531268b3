"""The console's preview pages: ``/admin/editions/<digest>/<number>`` and
``/admin/bulletins/<slug>`` show the exact email at 600 and 375 px, its text part, PDF,
subject, preheader, size against the clipping budget and lint problems, as a chosen member
or (language, themes) variant gets it (``digest.jobs.console_preview``).

The email is shown in sandboxed frames loaded from ``.../email.html`` (its own policy: no
script, no form, no navigation of the console, framed by the console only), never inlined
in the console's page. The "as member" choice and the dark-mode switch are one GET form, so
the page works without JavaScript; ``preview.js`` (the console's only script, allowed by
the page's policy) polls ``.../fingerprint`` twice a second and swaps the live part of the
page when the bulletin file or the draft changed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from digest.errors import InputError, RenderError
from digest.jobs.console_preview import Audience, Preview, Previews, in_dark_mode
from digest.jobs.member_message import choices
from digest.render.i18n import N_
from digest.render.templating import default_templates_dir
from digest.web.admin import acting
from digest.web.admin.access import CONSOLE_POLICY, Console, SignedIn

# A console page that also frames its own email URLs.
PAGE_POLICY = f"{CONSOLE_POLICY}; frame-src 'self'"
# The framed email: no script, no plugin, no form, no navigation (sandbox), framed by the
# console only; its inline styles and https images as in a mail client.
EMAIL_POLICY = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; "
                "img-src https: data:; frame-ancestors 'self'; base-uri 'none'")
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex"}
EDITION_TITLE = N_("Edition preview")
BULLETIN_TITLE = N_("Bulletin preview")
SCRIPT = "preview.js"
_PAGES: weakref.WeakKeyDictionary[Console, _Pages] = weakref.WeakKeyDictionary()


def routes(console: Console) -> list[BaseRoute]:
    """The preview pages, their frames, PDFs and fingerprints, and the refresh script."""
    pages = pages_of(console)
    edition, bulletin = "/editions/{digest}/{number:int}", "/bulletins/{slug}"
    return [
        Route(edition, console.page(pages.edition_page), methods=["GET"]),
        Route(f"{edition}/email.html", console.page(pages.edition_frame), methods=["GET"]),
        Route(f"{edition}/email.pdf", console.page(pages.edition_pdf), methods=["GET"]),
        Route(f"{edition}/fingerprint", console.page(pages.edition_fingerprint),
              methods=["GET"]),
        Route(bulletin, console.page(pages.bulletin_page), methods=["GET"]),
        Route(f"{bulletin}/email.html", console.page(pages.bulletin_frame), methods=["GET"]),
        Route(f"{bulletin}/email.pdf", console.page(pages.bulletin_pdf), methods=["GET"]),
        Route(f"{bulletin}/fingerprint", console.page(pages.bulletin_fingerprint),
              methods=["GET"]),
        Route(f"/{SCRIPT}", console.page(pages.script), methods=["GET"]),
    ]


def pages_of(console: Console) -> _Pages:
    """The preview pages of this console (one render cache), also for the actions'
    answers (``actions``: the page again, with the action's message)."""
    found = _PAGES.get(console)
    if found is None:
        found = _PAGES[console] = _Pages(console, Previews(console.ctx))
    return found


def _audience(request: Request, who: SignedIn) -> Audience:
    """The chosen member or variant; a member only for who may see members (a site role):
    a digest's own coordinator previews by language and themes."""
    query = request.query_params
    member = query.get("member", "")[:320] if who.may("members") else ""
    return Audience(member=member, language=query.get("language", "")[:35],
                    themes=tuple(t[:100] for t in query.getlist("themes")[:50]))


def _query(audience: Audience, dark: bool) -> str:
    fields: list[tuple[str, str]] = []
    if audience.member:
        fields.append(("member", audience.member))
    else:
        if audience.language:
            fields.append(("language", audience.language))
        fields += [("themes", theme) for theme in audience.themes]
    if dark:
        fields.append(("dark", "1"))
    return urlencode(fields)


@dataclass(frozen=True)
class _Answer:
    message: str
    error: str
    status: int
    note: str | None = None  # an editor's note typed and not saved: kept in its form


class _Pages:
    def __init__(self, console: Console, previews: Previews) -> None:
        self.console = console
        self.previews = previews

    # ---------------------------------------------------------------- editions

    async def edition_page(self, request: Request, who: SignedIn) -> Response:
        return await self._edition(request, who, None)

    async def edition_answer(self, request: Request, who: SignedIn, *, message: str = "",
                             error: str = "", status: int = 200,
                             note: str | None = None) -> Response:
        """The edition's page at an action's path under it (``.../3/approve``), with the
        action's ``message`` or ``error`` and ``status``; its links one level up. ``note``:
        the editor's note typed and refused, shown in its form instead of the saved one."""
        return await self._edition(request, who, _Answer(message, error, status, note))

    async def _edition(self, request: Request, who: SignedIn,
                       answer: _Answer | None) -> Response:
        digest, number = request.path_params["digest"], request.path_params["number"]
        return await self._page(
            request, who, EDITION_TITLE, f"/editions/{digest}/{number}", digest,
            lambda audience: self.previews.edition(digest, number, audience),
            lambda: self.previews.edition_fingerprint(digest, number),
            lambda: acting.edition_values(self.console, who, digest, number), answer=answer)

    async def edition_frame(self, request: Request, who: SignedIn) -> Response:
        digest, number = request.path_params["digest"], request.path_params["number"]
        return await self._frame(request, who, lambda a: self.previews.edition(digest, number, a))

    async def edition_pdf(self, request: Request, who: SignedIn) -> Response:
        digest, number = request.path_params["digest"], request.path_params["number"]
        return await self._pdf(lambda: self.previews.edition_pdf(digest, number),
                               f"{digest}-{number}.pdf")

    async def edition_fingerprint(self, request: Request, who: SignedIn) -> Response:
        digest, number = request.path_params["digest"], request.path_params["number"]
        return await self._fingerprint(
            lambda: self.previews.edition_fingerprint(digest, number))

    # ---------------------------------------------------------------- bulletins

    async def bulletin_page(self, request: Request, who: SignedIn) -> Response:
        return await self._bulletin(request, who, None)

    async def bulletin_answer(self, request: Request, who: SignedIn, *, message: str = "",
                              error: str = "", status: int = 200,
                              note: str | None = None) -> Response:
        """The bulletin's page at an action's path under it (see ``edition_answer``)."""
        return await self._bulletin(request, who, _Answer(message, error, status))

    async def _bulletin(self, request: Request, who: SignedIn,
                        answer: _Answer | None) -> Response:
        slug = request.path_params["slug"]
        settings = self.console.ctx.settings
        follows = settings.bulletins.audience if settings.bulletins else None
        return await self._page(request, who, BULLETIN_TITLE, f"/bulletins/{slug}", follows,
                                lambda audience: self.previews.bulletin(slug, audience),
                                lambda: self.previews.bulletin_fingerprint(slug),
                                lambda: acting.bulletin_values(self.console, who, slug),
                                variants=False, answer=answer)

    async def bulletin_frame(self, request: Request, who: SignedIn) -> Response:
        slug = request.path_params["slug"]
        return await self._frame(request, who, lambda a: self.previews.bulletin(slug, a))

    async def bulletin_pdf(self, request: Request, who: SignedIn) -> Response:
        slug = request.path_params["slug"]
        return await self._pdf(lambda: self.previews.bulletin_pdf(slug), f"{slug}.pdf")

    async def bulletin_fingerprint(self, request: Request, who: SignedIn) -> Response:
        slug = request.path_params["slug"]
        return await self._fingerprint(lambda: self.previews.bulletin_fingerprint(slug))

    # ---------------------------------------------------------------- shared

    async def _page(self, request: Request, who: SignedIn, title: str, path: str,
                    follows: str | None, make: Callable[[Audience], Preview],
                    fingerprint: Callable[[], str], panel: Callable[[], dict[str, Any]],
                    variants: bool = True, answer: _Answer | None = None) -> Response:
        audience, dark = _audience(request, who), request.query_params.get("dark") == "1"

        def build() -> tuple[Preview | None, str, int]:
            try:
                return make(audience), "", 200
            except InputError as exc:
                if audience == Audience():
                    return None, str(exc), 404
                error = str(exc)
            except RenderError as exc:
                return None, str(exc), 500
            try:  # an unknown member or theme: the full email, and why
                return make(Audience()), error, 200
            except (InputError, RenderError) as exc:
                return None, str(exc), 404

        def current() -> str:  # also for a page in error: it reloads once fixed
            try:
                return fingerprint()
            except (InputError, RenderError):
                return ""

        preview, error, status = await run_in_threadpool(build)
        shown = audience if preview is not None and not error else Audience()
        query = _query(shown, dark)
        # Relative to the page, so they hold under any path prefix a proxy keeps or strips
        # (an action's answer is one level further down: .../weekly/3/approve).
        up = "../" if answer is not None else ""
        here = up + path.rsplit("/", 1)[1]
        values: dict[str, Any] = {
            "preview": preview, "audience": audience, "dark": dark, "variants": variants,
            "page_url": here, "frame_url": f"{here}/email.html?{query}",
            "pdf_url": f"{here}/email.pdf", "fingerprint_url": f"{here}/fingerprint",
            "preview_script_url": up + "../" * (path.count("/") - 1) + SCRIPT,
            "choices": await run_in_threadpool(choices, self.console.ctx, follows,
                                               who.may("members")),
            "fingerprint": preview.fingerprint if preview else await run_in_threadpool(current),
            "typed_note": answer.note if answer is not None else None,
            **await run_in_threadpool(panel),
        }
        message = ""
        if answer is not None:  # the action's outcome first, the preview's problem after
            message, error = answer.message, " ".join(e for e in (answer.error, error) if e)
            status = answer.status if status == 200 else status
        response = self.console.render(request, who, "preview.html.j2", title=title,
                                       status=status, message=message, error=error,
                                       **values)
        response.headers["Content-Security-Policy"] = PAGE_POLICY
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    async def _frame(self, request: Request, who: SignedIn,
                     make: Callable[[Audience], Preview]) -> Response:
        audience, dark = _audience(request, who), request.query_params.get("dark") == "1"
        try:
            preview = await run_in_threadpool(make, audience)
        except (InputError, RenderError) as exc:
            return PlainTextResponse(str(exc), status_code=404, headers=_PRIVATE)
        if not preview.html:
            return PlainTextResponse(preview.note, status_code=404, headers=_PRIVATE)
        html = in_dark_mode(preview.html) if dark else preview.html
        return Response(html, media_type="text/html; charset=utf-8", headers={
            **_PRIVATE, "Content-Security-Policy": EMAIL_POLICY,
            "X-Frame-Options": "SAMEORIGIN"})

    async def _pdf(self, make: Callable[[], bytes], name: str) -> Response:
        try:
            data = await run_in_threadpool(make)
        except (InputError, RenderError) as exc:
            return PlainTextResponse(str(exc), status_code=404, headers=_PRIVATE)
        return Response(data, media_type="application/pdf", headers={
            **_PRIVATE, "Content-Disposition": f'inline; filename="{name}"'})

    async def _fingerprint(self, make: Callable[[], str]) -> Response:
        try:
            value = await run_in_threadpool(make)
        except (InputError, RenderError) as exc:
            return PlainTextResponse(str(exc), status_code=404, headers=_PRIVATE)
        return PlainTextResponse(value, headers=_PRIVATE)

    async def script(self, request: Request, who: SignedIn) -> Response:
        path = Path(default_templates_dir()) / "web" / "admin" / SCRIPT
        return Response(path.read_bytes(), media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})
