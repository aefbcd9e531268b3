"""The error pages of the web app: an HTML page in the visitor's language for every error
the app itself did not write a page for, and one log line for a failure.

Starlette answers a path no route has (404), a method a route does not take (405, with its
``Allow``), a file the published folders lack (404) and a ``Range`` it cannot serve
(``published``: 416, 400) with plain text; a handler that
fails (the store unreachable...) would get its plain "Internal Server Error", and a body
or headers over the limits (``limits``: 413, 431, 400) a line of text, and uvicorn
answers by itself bytes that are not HTTP and a request past the connection limit
(``wire_pages``: 400, 431, 501, 503). Each is instead a page in the members' frame
(``lang``, a title, a ``main`` landmark) that says what happened and links to the front
page, never the exception's text: it may name the database or a file. ``ServerErrors``
(outside Starlette, which answers with ``server_error`` and then raises again) logs the
failure: one line for a ``DigestError`` (its message is written for the operator), the
traceback for anything else (a bug). A posted body that is not a form is one labelled
line (``unreadable_form``), never the multipart parser's own unlabelled message
(``quiet_form_parser``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.errors import DigestError
from digest.jobs.context import Context
from digest.render.i18n import N_
from digest.web.limits import Page, shown_path
from digest.web.member_access import PRIVATE, language_of
from digest.web.pages import member_page

log = logging.getLogger("digest.web")

NOT_FOUND = (N_("Page not found"),
             N_("There is no page at this address. The front page lists what is published."))
NOT_ALLOWED = (N_("Not allowed"), N_("This address does not answer this kind of request."))
NOT_VALID = (N_("Request not valid"), N_("This request cannot be answered as it was sent."))
TOO_LARGE = (N_("Request too large"),
             N_("This request is larger than the site accepts: nothing was read or changed."))
FAILED = (N_("Something went wrong"),
          N_("The site could not answer this request. Try again in a few minutes."))
# 501: a transfer coding h11 does not know (``wire_pages``), the request's fault.
WORDS: Mapping[int, tuple[str, str]] = {404: NOT_FOUND, 405: NOT_ALLOWED, 413: TOO_LARGE,
                                         431: TOO_LARGE, 500: FAILED, 501: NOT_VALID}
# If even the page cannot be rendered (a broken template): still HTML, still no details.
FALLBACK = ('<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
            '<title>Something went wrong</title></head>\n<body><main><h1>Something went '
            'wrong</h1><p>The site could not answer this request. Try again in a few '
            'minutes.</p></main></body>\n</html>\n')
ExceptionHandler = Callable[[Request, Exception], Response]
PARSER_LOGGERS = ("python_multipart", "multipart")  # the package, and its older name


def error_page(ctx: Context, request: Request, status: int,
               headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """The page for ``status``, in the visitor's language, never cached nor indexed."""
    title, text = WORDS.get(status, FAILED if status >= 500 else NOT_VALID)
    answer = {**PRIVATE, **(headers or {})}
    try:
        body = member_page(ctx.settings, "error", title, language_of(ctx, request), text=text,
                           home=f"{ctx.settings.site.base_url}/")
    except Exception:  # the error page must not fail in turn
        log.exception("digest: the error page could not be rendered")
        body = FALLBACK
    return HTMLResponse(body, status_code=status, headers=answer)


def quiet_form_parser() -> None:
    """Keep the multipart parser's own messages ("Expected boundary character 45, got 76 at
    index 2") out of the service's output: Starlette turns its failure into a 400 anyway,
    and ``unreadable_form`` logs the one line that says which request it was."""
    for name in PARSER_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def unreadable_form(request: Request, exc: HTTPException) -> None:
    """One labelled line for a posted body that is not a form (malformed multipart, more
    fields than the page has...): the path without its token, and the parser's reason."""
    log.warning("digest: %s %s: its body is not a readable form (%s)",
                request.method, shown_path(request.scope), str(exc.detail)[:200])


def refusal_page(ctx: Context) -> Callable[[Scope, int], bytes]:
    """The pages of ``limits.RequestLimits``' refusals (400, 413, 431), of what uvicorn
    would answer itself (``wire_pages``: 400, 431, 501, 503) and of ``ServerErrors``
    (500): they answer before the
    app and the body are read, from the request's headers alone (none, for bytes that are
    not HTTP)."""

    def page(scope: Scope, status: int) -> bytes:
        return bytes(error_page(ctx, Request(scope), status).body)

    return page


def exception_handlers(ctx: Context) -> dict[type[Exception] | int, ExceptionHandler]:
    """Starlette's ``exception_handlers``: its HTTP errors and any failure, as pages."""

    def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_page(ctx, request, exc.status_code, exc.headers)

    def server_error(request: Request, exc: Exception) -> Response:
        return error_page(ctx, request, 500)

    return {HTTPException: http_error, Exception: server_error}


class ServerErrors:
    """Log a failure Starlette answered (and raised again) as one line or a traceback;
    answer ``page``'s 500 when nothing was sent yet: a failure outside Starlette's
    handling, or an app that returned without answering (the one place for both; uvicorn
    would write its plain "Internal Server Error")."""

    def __init__(self, app: ASGIApp, page: Page) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        where = f"{scope.get('method', '?')} {shown_path(scope)}"
        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:  # logged here, answered as a page
            if isinstance(exc, DigestError):
                log.error("digest: %s failed: %s", where, exc)
            else:
                log.error("digest: %s failed", where, exc_info=exc)
        else:
            if started:
                return
            log.error("digest: %s: the app returned without answering", where)
        if not started:
            await HTMLResponse(self.page(scope, 500), status_code=500,
                               headers=PRIVATE)(scope, receive, send)
