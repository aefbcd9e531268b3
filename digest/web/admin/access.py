"""STAND-IN of the access API (CONSOLE_DESIGN.md), so the editor can be built and tested
before the access branch lands; the access helper's module replaces it at merge.

The session is a cookie ``digest_admin`` holding ``email|HMAC(secret, email)``, for a
coordinator listed in ``coordinators``; the CSRF token is an HMAC of the email. No expiry,
no sign-in pages: only what the editor's pages and tests need.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from digest.jobs.context import Context
from digest.render.i18n import translate
from digest.render.templating import base_context, render_template

Permission = Literal["view", "edit", "test", "approve"]
Form = dict[str, list[str]]
COOKIE = "digest_admin"
_EDITOR: frozenset[str] = frozenset({"view", "edit", "test"})


@dataclass(frozen=True)
class SignedIn:
    email: str
    name: str
    role: Literal["editor", "approver"]
    csrf: str

    def may(self, permission: Permission, digest_id: str | None = None) -> bool:
        return self.role == "approver" or permission in _EDITOR


AdminPage = Callable[[Request, SignedIn], Awaitable[Response]]
AdminAction = Callable[[Request, SignedIn, Form], Awaitable[Response]]


def _mac(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def session_cookie(ctx: Context, email: str) -> str:
    """The stand-in's session cookie value for ``email``."""
    return f"{email}|{_mac(ctx.secret, 'session:' + email)}"


class Console:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _who(self, request: Request) -> SignedIn | None:
        email, _, mac = request.cookies.get(COOKIE, "").rpartition("|")
        if not email or not hmac.compare_digest(mac, _mac(self.ctx.secret, "session:" + email)):
            return None
        return self._who_of(email)

    def _who_of(self, email: str) -> SignedIn | None:
        found = next((c for c in self.ctx.settings.coordinators if c.email == email), None)
        if found is None:
            return None
        return SignedIn(found.email, found.name, found.role, _mac(self.ctx.secret, "csrf:" + email))

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
                return PlainTextResponse("Forbidden", status_code=403)
            form: Form = {}
            try:
                async with request.form(max_files=0, max_fields=100,
                                        max_part_size=max_field_bytes) as data:
                    for key, value in data.multi_items():
                        if isinstance(value, str):
                            form.setdefault(key, []).append(value)
            except HTTPException:
                return PlainTextResponse("Bad request", status_code=400)
            if not hmac.compare_digest((form.get("csrf") or [""])[-1], who.csrf):
                return PlainTextResponse("Forbidden", status_code=403)
            if not who.may(permission, digest_of(request)):
                return PlainTextResponse("Forbidden", status_code=403)
            return await handler(request, who, form)
        return endpoint

    def render(self, request: Request, who: SignedIn | None, template: str, *,
               title: str, status: int = 200, message: str = "", error: str = "",
               **values: Any) -> HTMLResponse:
        settings = self.ctx.settings
        accepted = request.headers.get("accept-language", "")[:2].lower()
        language = accepted if accepted in ("en", "fr", "de") else settings.site.language
        context = base_context(settings, language)
        heading = translate(language, title)
        context.update(title=heading, subject=f"{heading} · {settings.site.title}",
                       preheader="", who=who, message=message, error=error, **values)
        html = render_template(settings, f"web/admin/{template}", context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def url(self, path: str) -> str:
        return f"{self.ctx.settings.site.base_url}/admin{path}"
