"""The coordinators' console under ``/admin`` (docs/console.md).

``access`` holds the rules every page and action goes through (``Console``); each part of
the console is a module with ``routes(console)``, paths relative to ``/admin``, and
``admin_routes`` mounts them all with one ``Console`` per app, behind
``access.PlainAddresses``, and ends with the console's 404 for any other path.
"""

from __future__ import annotations

import re
from typing import TypeVar

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from digest.jobs.context import Context
from digest.web.admin import actions, dashboard, editor, login, members, previews
from digest.web.admin.access import Console, PlainAddresses

# The editor before any part with /bulletins/{slug}: /bulletins/new is its page; the
# actions (POST .../approve...) after the previews whose pages they answer with.
PARTS = (login, dashboard, editor, previews, actions, members)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]  # of the last route


def admin_routes(ctx: Context) -> list[BaseRoute]:
    """``/admin`` (to ``/admin/``) and every part's routes under ``/admin``."""
    console = Console(ctx)

    async def to_dashboard(request: Request) -> Response:
        return RedirectResponse(console.url("/"), status_code=303)

    routes: list[BaseRoute] = [route for part in PARTS for route in part.routes(console)]
    # Last: any other /admin path is the sign-in page's (no session) or a console 404.
    routes.append(whole_paths(Route("/{path:path}", console.missing, methods=METHODS)))
    return [Route("/admin", to_dashboard, methods=["GET", "HEAD"]),
            whole_paths(Mount("/admin", routes=routes,
                              middleware=[Middleware(PlainAddresses, console=console)]))]


Matching = TypeVar("Matching", Route, Mount)


def whole_paths(route: Matching) -> Matching:
    """``route`` matching paths with a line break too: Starlette's ``{path:path}`` (and a
    ``Mount``'s rest) is ``.*``, which stops at one, so ``/admin/%0A`` would miss the
    console, its sign-in redirect and ``PlainAddresses``."""
    route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
    return route
