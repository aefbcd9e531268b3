"""The coordinators' console under ``/admin`` (STAND-IN of the editor branch: the access
helper's version replaces this file at merge; only the editor's routes are listed here)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from digest.jobs.context import Context
from digest.web.admin import editor
from digest.web.admin.access import Console


def admin_routes(ctx: Context) -> list[BaseRoute]:
    """Every console route, under ``/admin``."""
    console = Console(ctx)
    return [Mount("/admin", routes=[*editor.routes(console)])]
