"""STAND-IN for the access helper's package module: the console's routes under /admin.

The lead keeps the access helper's version at merge (it adds the sign-in, the dashboard and
the other modules' routes); this one mounts only the members' pages."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from digest.jobs.context import Context
from digest.web.admin import members
from digest.web.admin.access import Console


def admin_routes(ctx: Context) -> list[BaseRoute]:
    """Every console route, mounted under /admin."""
    console = Console(ctx)
    return [Mount("/admin", routes=[*members.routes(console)])]
