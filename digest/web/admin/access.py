"""STAND-IN for the console's access layer (branch console-access owns the real one; the
lead keeps that version at merge). Same API as CONSOLE_DESIGN.md declares, so the preview
pages are written against it: a GET without a session is sent to the sign-in page, a POST
needs the session's CSRF token, pages render through ``templates/web/admin/``.

The stand-in's "session" is a cookie holding a coordinator's address and an HMAC of it with
the site's key (``sign_in_cookie``): enough for tests, not the real sign-in flow.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from digest.jobs.context import Context
from digest.models import EditionLinks
from digest.render.i18n import translate
from digest.render.templating import base_context, render_template

Permission = Literal["view", "edit", "test", "approve"]
Form = dict[str, list[str]]
COOKIE = "digest_console"
_LANGUAGES = ("en", "fr", "de")
_NO_LINKS = EditionLinks(web_url="", archive_url="", pdf_url="")


@dataclass(frozen=True)
class SignedIn:
    """The signed-in coordinator."""

    email: str
    name: str
    role: Literal["editor", "approver"]
    csrf: str

    def may(self, permission: Permission, digest_id: str | None = None) -> bool:
        return permission != "approve" or self.role == "approver"


AdminPage = Callable[[Request, SignedIn], Awaitable[Response]]
AdminAction = Callable[[Request, SignedIn, Form], Awaitable[Response]]


def _mac(ctx: Context, text: str) -> str:
    return hmac.new(ctx.secret, f"console-standin:{text}".encode(), hashlib.sha256).hexdigest()


def sign_in_cookie(ctx: Context, email: str) -> str:
    """The stand-in session cookie's value for a coordinator."""
    return f"{email}|{_mac(ctx, email)}"


def csrf_token(ctx: Context, email: str) -> str:
    """The stand-in session's CSRF token."""
    return _mac(ctx, "csrf:" + email)


class Console:
    """Built once per app from the Context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _who(self, request: Request) -> SignedIn | None:
        email, _, mac = request.cookies.get(COOKIE, "").partition("|")
        if not email or not hmac.compare_digest(mac, _mac(self.ctx, email)):
            return None
        known = {c.email.lower(): c for c in self.ctx.settings.coordinators}
        coordinator = known.get(email.lower())
        if coordinator is None:
            return None
        role: Literal["editor", "approver"] = (
            "approver" if coordinator.role == "approver" else "editor")
        return SignedIn(email=coordinator.email, name=coordinator.name, role=role,
                        csrf=csrf_token(self.ctx, email))

    def page(self, handler: AdminPage) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            who = self._who(request)
            if who is None:
                return RedirectResponse(self.url("/login"), status_code=303)
            return await handler(request, who)

        return endpoint

    def action(self, permission: Permission, handler: AdminAction, *,
               digest_of: Callable[[Request], str | None] = lambda r: None,
               max_field_bytes: int = 64 * 1024) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            who = self._who(request)
            if who is None:
                return Response("forbidden", status_code=403)
            async with request.form(max_files=0, max_fields=100) as data:
                form: Form = {}
                for key, value in data.multi_items():
                    if isinstance(value, str):
                        form.setdefault(key, []).append(value)
            if form.get("csrf") != [who.csrf] or not who.may(permission,
                                                             digest_of(request)):
                return Response("forbidden", status_code=403)
            return await handler(request, who, form)

        return endpoint

    def language(self, request: Request) -> str:
        for part in request.headers.get("accept-language", "").split(","):
            code = part.split(";")[0].strip().lower()[:2]
            if code in _LANGUAGES:
                return code
        return self.ctx.settings.site.language

    def render(self, request: Request, who: SignedIn | None, template: str, *,
               title: str, status: int = 200, message: str = "", error: str = "",
               **values: Any) -> HTMLResponse:
        settings = self.ctx.settings
        language = self.language(request)
        context = base_context(settings, language)
        heading = translate(language, title)
        context.update(title=heading, subject=f"{heading} · {settings.site.title}",
                       preheader="", links=_NO_LINKS, who=who, message=message,
                       error=error, admin_url=self.url(""), **values)
        html = render_template(settings, f"web/admin/{template}", context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def url(self, path: str) -> str:
        return f"{self.ctx.settings.site.base_url}/admin{path}"
