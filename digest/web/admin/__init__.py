"""The coordinators' console under ``/admin`` (docs/console.md).

``access`` holds the rules every page and action goes through (``Console``); each part of
the console is a module with ``routes(console)``, paths relative to ``/admin``, and
``admin_routes`` mounts them all with one ``Console`` per app, behind
``access.PlainAddresses``, and ends with the console's 405 (with ``Allow``) for a method
a path does not take, and its 404 for any other path.
"""

from __future__ import annotations

import re
from typing import TypeVar

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

from digest.jobs.context import Context
from digest.web.admin import actions, dashboard, editor, login, members, previews
from digest.web.admin.access import Console, PlainAddresses

# The editor before any part with /bulletins/{slug}: /bulletins/new is its page; the
# actions (POST .../approve...) after the previews whose pages they answer with.
PARTS = (login, dashboard, editor, previews, actions, members)


def admin_routes(ctx: Context) -> list[BaseRoute]:
    """``/admin`` (to ``/admin/``) and every part's routes under ``/admin``."""
    console = Console(ctx)

    async def to_dashboard(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return await console.not_allowed(request, ("GET", "HEAD"))
        return RedirectResponse(console.url("/"), status_code=303)

    pages: list[BaseRoute] = [route for part in PARTS for route in part.routes(console)]

    async def other(request: Request) -> Response:
        """Any method on any other path: 405 if some page has the path (Starlette's own
        405 would be the members' page), else the sign-in page's (no session) or a 404."""
        allowed = allowed_methods(pages, request.scope)
        if allowed:
            return await console.not_allowed(request, allowed)
        return await console.missing(request)

    # Last, for every method (a route's methods would let Starlette answer in its place).
    routes = [*pages, any_method(whole_paths(Route("/{path:path}", other)))]
    return [any_method(Route("/admin", to_dashboard)),
            whole_paths(Mount("/admin", routes=routes,
                              middleware=[Middleware(PlainAddresses, console=console)]))]


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> set[str]:
    """The methods the routes take for the scope's path, when none takes its method."""
    allowed: set[str] = set()
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.PARTIAL and isinstance(route, Route) and route.methods:
            allowed |= route.methods
    return allowed


Matching = TypeVar("Matching", Route, Mount)


def any_method(route: Route) -> Route:
    """``route`` taking every method (Starlette gives a function's route GET and HEAD
    when it names none), so the console, not Starlette, answers the others."""
    route.methods = None
    return route


def whole_paths(route: Matching) -> Matching:
    """``route`` matching paths with a line break too: Starlette's ``{path:path}`` (and a
    ``Mount``'s rest) is ``.*``, which stops at one, so ``/admin/%0A`` would miss the
    console, its sign-in redirect and ``PlainAddresses``."""
    route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
    return route
