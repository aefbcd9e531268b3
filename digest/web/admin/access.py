"""STAND-IN for the access helper's module (branch console-access): the declared API only,
so the members' pages can be built and tested before it lands. The lead keeps the access
helper's version at merge; nothing else in this branch depends on how this one works.

A session here is a cookie holding the coordinator's address and its HMAC with the site's
key; the CSRF token is another HMAC of it. Roles come from ``coordinators`` in the config.
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
from digest.models import EditionLinks
from digest.render.i18n import translate
from digest.render.templating import base_context, render_template

Permission = Literal["view", "edit", "test", "approve"]
Form = dict[str, list[str]]
COOKIE = "digest_console"
_EDITOR: frozenset[str] = frozenset({"view", "edit", "test"})


@dataclass(frozen=True)
class SignedIn:
    """The coordinator a request comes from."""

    email: str
    name: str
    role: Literal["editor", "approver"]
    csrf: str

    def may(self, permission: Permission, digest_id: str | None = None) -> bool:
        """Whether the role allows ``permission``."""
        return self.role == "approver" or permission in _EDITOR


AdminPage = Callable[[Request, SignedIn], Awaitable[Response]]
AdminAction = Callable[[Request, SignedIn, Form], Awaitable[Response]]


def _sign(secret: bytes, purpose: str, email: str) -> str:
    return hmac.new(secret, f"{purpose}:{email}".encode(), hashlib.sha256).hexdigest()


def session_cookie(ctx: Context, email: str) -> str:
    """The cookie value that signs ``email`` in (tests/admin_client.py)."""
    return f"{email}|{_sign(ctx.secret, 'console-session', email)}"


def csrf_of(ctx: Context, email: str) -> str:
    """The CSRF token of ``email``'s session."""
    return _sign(ctx.secret, "console-csrf", email)[:32]


class Console:
    """The admin pages' shared handling: sessions, CSRF, roles, rendering."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _who(self, request: Request) -> SignedIn | None:
        email, _, signature = request.cookies.get(COOKIE, "").rpartition("|")
        if not email or not hmac.compare_digest(
                signature, _sign(self.ctx.secret, "console-session", email)):
            return None
        for coordinator in self.ctx.settings.coordinators:
            if coordinator.email.lower() == email.lower():
                return SignedIn(email, coordinator.name, coordinator.role,
                                csrf_of(self.ctx, email))
        return None

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
            token = (form.get("csrf") or [""])[-1]
            if not hmac.compare_digest(token, who.csrf) or not who.may(
                    permission, digest_of(request)):
                return PlainTextResponse("Forbidden", status_code=403)
            return await handler(request, who, form)
        return endpoint

    def render(self, request: Request, who: SignedIn | None, template: str, *,
               title: str, status: int = 200, message: str = "", error: str = "",
               **values: Any) -> HTMLResponse:
        settings = self.ctx.settings
        language = _language(request, settings.site.language)
        context = base_context(settings, language)
        heading = translate(language, title)
        context.update(title=heading, subject=f"{heading} · {settings.site.title}",
                       preheader="", links=_NO_LINKS, who=who, message=message, error=error,
                       admin_url=self.url, **values)
        body = render_template(settings, f"web/admin/{template}", context)
        return HTMLResponse(body, status_code=status, headers={
            "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex"})

    def url(self, path: str) -> str:
        return f"{self.ctx.settings.site.base_url}/admin{path}"


def _language(request: Request, default: str) -> str:
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in ("en", "fr", "de"):
            return code
    return default

_NO_LINKS = EditionLinks(web_url="", archive_url="", pdf_url="")
