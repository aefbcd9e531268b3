"""STAND-IN (branch console-access owns the real one): the console's routes under /admin."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from digest.jobs.context import Context
from digest.web.admin import previews
from digest.web.admin.access import Console


def admin_routes(ctx: Context) -> list[BaseRoute]:
    """Every admin module's routes, under /admin."""
    console = Console(ctx)
    return [Mount("/admin", routes=[*previews.routes(console)])]
