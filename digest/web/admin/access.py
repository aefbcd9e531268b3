"""The console's access rules in one place: who is signed in, what their role allows, and
the frame every console page is rendered in.

Every console module builds its endpoints through one ``Console``:

- ``page(handler, permission)`` for a GET: without a live session, a 303 to the sign-in
  page; with a role that does not allow ``permission``, a 403;
- ``action(permission, handler)`` for a POST: any other method, a form posted from
  another site's page (``foreign``), no session, no form's CSRF token (``csrf``, an HMAC
  of the session with the site's secret), or a role that does not allow ``permission``
  (for the digest ``digest_of`` names), gets a 403 before the handler runs, so nothing
  changes;
- ``render(...)`` for the page: ``templates/web/admin/<template>`` in the frame
  ``admin/_page.html.j2``, never cached, in the reader's language (en, fr or de from
  ``Accept-Language``, else the site's).

Roles: an ``editor`` may view, edit (bulletins, curation) and test-send; an ``approver``
may also approve (approve, reject, schedule, pause, resume, cancel, retry). Members'
personal data (``members``: search, a member's page, export, problems, import) needs a
site-level role: someone listed by a digest only may not see it. The roles come from the
config at every request (``digest.config.coordinators``).

Every ``/admin`` request goes through ``PlainAddresses`` first: a control character (NUL,
a line break...) in its path or query names no page, and answers 400 before any part of
the console reads it (the store refuses NUL on PostgreSQL). An ``/admin`` path no part
has is ``not_found``: for a signed-in coordinator a 404 in the console's frame; a method
a console path does not take is ``not_allowed``: 405 in that frame, with ``Allow``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from digest.config import Settings
from digest.config.coordinators import Role, Roster
from digest.jobs import sign_in
from digest.jobs.context import Context
from digest.models import EditionLinks
from digest.render.i18n import N_, translate
from digest.render.templating import base_context, render_template
from digest.store.keys import plain_text
from digest.web.headers import CONTENT_SECURITY_POLICY

Permission = Literal["view", "edit", "test", "approve", "members"]
Form = dict[str, list[str]]
COOKIE = "digest_console"
LANGUAGES = ("en", "fr", "de")
_GRANTS: dict[Role, frozenset[str]] = {
    "editor": frozenset({"view", "edit", "test", "members"}),
    "approver": frozenset({"view", "edit", "test", "approve", "members"}),
}
_SITE_ONLY = frozenset({"members"})  # never granted by a digest's own coordinators
# The console's pages may run their own scripts (live refresh), nothing else's.
CONSOLE_POLICY = CONTENT_SECURITY_POLICY.replace(
    "default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';")
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                   "X-Robots-Tag": "noindex", "Content-Security-Policy": CONSOLE_POLICY}
# The navigation: (label, path under /admin). Each console part adds its line.
NAV: tuple[tuple[str, str], ...] = ((N_("Overview"), "/"), (N_("Bulletins"), "/bulletins"),
                                    (N_("New bulletin"), "/bulletins/new"),
                                    (N_("Members"), "/members"))
_NAV_NEEDS: dict[str, Permission] = {"/members": "members"}  # else "view"
ROLES = (N_("editor"), N_("approver"))  # shown in the navigation
NOT_ALLOWED = N_("Not allowed")
NOT_ALLOWED_TEXT = N_("This action is not allowed: your session, the form or your role "
                      "does not permit it. Nothing was changed.")
NOT_FOUND = N_("Page not found")
NOT_FOUND_TEXT = N_("The console has no such page.")
METHOD_TEXT = N_("This address does not answer this kind of request.")
UNREADABLE = N_("Address not readable")
UNREADABLE_TEXT = N_("This address holds a control character (such as NUL): it names no "
                     "page and no search. Nothing was changed.")
_NO_LINKS = EditionLinks(web_url="", archive_url="", pdf_url="")


@dataclass(frozen=True)
class SignedIn:
    """The coordinator behind a request: ``role`` is their site-level role (for someone
    listed by digests only: the strongest of those, ``digests_only`` set)."""

    email: str
    name: str
    role: Role
    csrf: str  # put in every form as <input type="hidden" name="csrf">
    digest_roles: tuple[tuple[str, Role], ...] = ()
    digests_only: bool = False

    def may(self, permission: Permission, digest_id: str | None = None) -> bool:
        """Whether this coordinator may do ``permission`` (on ``digest_id``'s editions)."""
        if permission == "view":
            return True
        roles = [] if self.digests_only else [self.role]
        if permission not in _SITE_ONLY:
            roles += [role for digest, role in self.digest_roles if digest == digest_id]
        return any(permission in _GRANTS[role] for role in roles)


AdminPage = Callable[[Request, SignedIn], Awaitable[Response]]
AdminAction = Callable[[Request, SignedIn, Form], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def _no_digest(request: Request) -> str | None:
    return None


class Console:
    """What every console endpoint shares; built once per app from the context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.base_url = ctx.settings.site.base_url
        self.secure = self.base_url.lower().startswith("https://")
        self.cookie_path = urlsplit(self.base_url).path.rstrip("/") + "/admin"
        self.origin = origin_of(self.base_url)
        self.roster = Roster(ctx.settings)

    def coordinators(self) -> Settings | None:
        """The config as it is now, for who may sign in (None: unreadable, nobody may)."""
        return self.roster.current()

    # ----- who is signed in
    def csrf_for(self, session_hash: str) -> str:
        """The CSRF token of a session: an HMAC of its hash, so it needs no storage."""
        return hmac.new(self.ctx.secret, b"digest-console-csrf\0" + session_hash.encode(),
                        hashlib.sha256).hexdigest()

    def who(self, request: Request) -> SignedIn | None:
        """The signed-in coordinator of this request, or None (synchronous: the store)."""
        token = request.cookies.get(COOKIE, "")
        if not token or len(token) > 128:
            return None
        live_refresh = request.headers.get("x-live-refresh") == "1"  # see console.js
        settings = self.coordinators()
        if settings is None:
            return None
        found = sign_in.signed_in(self.ctx, token, active=not live_refresh, settings=settings)
        if found is None:
            return None
        session, access = found
        return SignedIn(email=access.email, name=access.name, role=access.site or access.role,
                        csrf=self.csrf_for(session.token_hash),
                        digest_roles=tuple(sorted(access.digests.items())),
                        digests_only=access.site is None)

    def foreign(self, request: Request) -> bool:
        """Whether another site's page sent this request (a form posted from it): every
        console form is posted from the console's own pages, so such a POST is refused,
        whatever session or token it carries. Browsers say where a request comes from in
        ``Sec-Fetch-Site``: anything but ``same-origin`` (or ``none``, typed by the user)
        is foreign, ``same-site`` included (a sibling host of the same domain, which gets
        the ``SameSite=Lax`` cookie). Older browsers send only ``Origin``, which must then
        be ``site.base_url``'s. ``null`` says nothing: Chromium sends it for the console's
        own forms, whose pages have ``Referrer-Policy: no-referrer`` (and ``Referer`` is
        never sent for that reason). A request with neither (a script) is judged by its
        session and token alone."""
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site is not None:
            return fetch_site not in ("same-origin", "none")
        sent = request.headers.get("origin", "null")
        return sent != "null" and origin_of(sent) != self.origin

    # ----- endpoints
    def page(self, handler: AdminPage, permission: Permission = "view") -> Endpoint:
        """A GET endpoint for signed-in coordinators whose role allows ``permission``
        (else 403); others go to the sign-in page."""
        async def endpoint(request: Request) -> Response:
            who = await run_in_threadpool(self.who, request)
            if who is None:
                return self.to_login()
            if not who.may(permission):
                return self.forbidden(request, who)
            return await handler(request, who)
        return endpoint

    def to_login(self) -> Response:
        return RedirectResponse(self.url("/login"), status_code=303,
                                headers={"Cache-Control": "no-store"})

    async def missing(self, request: Request) -> Response:
        """An ``/admin`` path no part has (the last route, any method): a GET as every
        console page (no session: to the sign-in page), then 404 in the console's frame."""
        if request.method in ("GET", "HEAD"):
            return await self.page(self._not_found)(request)
        return await self._not_found(request, await run_in_threadpool(self.who, request))

    async def _not_found(self, request: Request, who: SignedIn | None) -> Response:
        return self.render(request, who, "forbidden.html.j2", title=NOT_FOUND, status=404,
                           error=NOT_FOUND_TEXT)

    async def not_allowed(self, request: Request, allowed: Iterable[str]) -> Response:
        """A method the page does not take: 405 in the console's frame, with ``Allow``."""
        who = await run_in_threadpool(self.who, request)
        answer = self.render(request, who, "forbidden.html.j2", title=NOT_ALLOWED, status=405,
                             error=METHOD_TEXT)
        answer.headers["Allow"] = ", ".join(sorted(allowed))
        return answer

    async def unreadable(self, request: Request) -> Response:
        """A request whose path or query holds a control character: 400 (a GET without
        a session: to the sign-in page, as every console GET)."""
        who = await run_in_threadpool(self.who, request)
        if who is None and request.method in ("GET", "HEAD"):
            return self.to_login()
        return self.render(request, who, "forbidden.html.j2", title=UNREADABLE, status=400,
                           error=UNREADABLE_TEXT)

    def action(self, permission: Permission, handler: AdminAction, *,
               digest_of: Callable[[Request], str | None] = _no_digest,
               max_field_bytes: int = 64 * 1024) -> Endpoint:
        """A POST endpoint: session, CSRF token and role are checked before ``handler``;
        any other method (whatever the route allows) is refused, so nothing changes."""
        async def endpoint(request: Request) -> Response:
            if request.method != "POST" or self.foreign(request):
                return self.forbidden(request, None)
            who = await run_in_threadpool(self.who, request)
            if who is None:
                return self.forbidden(request, None)
            form = await read_form(request, max_field_bytes)
            sent = (form or {}).get("csrf", [""])[-1]
            if form is None or not hmac.compare_digest(sent.encode(), who.csrf.encode()):
                return self.forbidden(request, who)
            if not who.may(permission, digest_of(request)):
                return self.forbidden(request, who)
            return await handler(request, who, form)
        return endpoint

    def forbidden(self, request: Request, who: SignedIn | None) -> HTMLResponse:
        return self.render(request, who, "forbidden.html.j2", title=NOT_ALLOWED, status=403,
                           error=NOT_ALLOWED_TEXT)

    # ----- pages
    def language(self, request: Request) -> str:
        """en, fr or de, the reader's first choice in ``Accept-Language``; else the site's."""
        choices: list[tuple[float, int, str]] = []
        for index, part in enumerate(request.headers.get("accept-language", "")[:500]
                                     .split(",")):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    continue
            primary = tag.strip().lower().split("-")[0]
            if primary in LANGUAGES and quality > 0:
                choices.append((-quality, index, primary))
        return min(choices)[2] if choices else self.ctx.settings.site.language

    def render(self, request: Request, who: SignedIn | None, template: str, *,
               title: str, status: int = 200, message: str = "", error: str = "",
               **values: Any) -> HTMLResponse:
        """A console page: ``title``, ``message`` and ``error`` are message ids (or text),
        translated; ``values`` go to the template as they are."""
        settings = self.ctx.settings
        language = self.language(request)
        context = base_context(settings, language)
        heading = translate(language, title)
        context.update(
            title=heading, subject=f"{heading} · {settings.site.title}", preheader="",
            links=_NO_LINKS, who=who,
            nav=[(label, self.url(path)) for label, path in NAV
                 if who is None or who.may(_NAV_NEEDS.get(path, "view"))],
            admin_url=self.url, logout_url=self.url("/logout"),
            script_url=self.url("/console.js"), current=request.url.path, console_page=True,
            message=translate(language, message) if message else "",
            error=translate(language, error) if error else "", **values)
        body = render_template(settings, f"web/admin/{template}", context)
        return HTMLResponse(body, status_code=status, headers=PRIVATE_HEADERS)

    def url(self, path: str) -> str:
        """The absolute URL of a console path (from ``site.base_url``, never the Host)."""
        return f"{self.base_url}/admin{path}"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL as browsers send it in ``Origin`` (lower case,
    no default port); "" for what is no http(s) URL (``null``)."""
    try:
        parts = urlsplit(url.strip().lower())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default = 443 if parts.scheme == "https" else 80
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


async def read_form(request: Request, max_field_bytes: int = 64 * 1024) -> Form | None:
    """The POSTed fields (at most 100, no files, each value at most ``max_field_bytes``);
    None when the body is not such a form."""
    form: Form = {}
    try:
        async with request.form(max_files=0, max_fields=100,
                                max_part_size=max_field_bytes) as data:
            for key, value in data.multi_items():
                if not isinstance(value, str) or len(value.encode()) > max_field_bytes:
                    return None
                form.setdefault(key, []).append(value)
    except (HTTPException, ValueError, UnicodeDecodeError):
        return None
    return form


class PlainAddresses:
    """The ``/admin`` mount's guard: a path or query value with a control character is
    answered ``Console.unreadable`` before any route reads it."""

    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            values = [scope.get("path", ""), *(text for pair in
                                               request.query_params.multi_items()
                                               for text in pair)]
            if not all(plain_text(value) for value in values):
                response = await self.console.unreadable(request)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
