"""The console's overview, ``GET /admin/``: what goes out next and when, what waits and
why, what is being sent, which sources fail, and what coordinators did lately; and
``GET /admin/bulletins``, every bulletin of the folder with its state and why, and links
to preview, edit and write one. Each bulletin, edition and audited target links to its
console page.

The numbers come from ``digest.jobs.overview`` (one read of the store) and each digest's
next slot from the scheduler's own rule. The page works without JavaScript; with it, the
small ``/admin/console.js`` fetches the page again every few seconds and swaps in the
parts marked ``data-live`` (the editions being sent, the bulletins), so counts move while
an edition goes out. Those background fetches do not count as activity for the session's
idle expiry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from digest.dates import console_stamp
from digest.jobs.overview import bulletin_lines, overview
from digest.render.i18n import N_
from digest.render.templating import render_template
from digest.scheduler import next_digest_runs
from digest.web.admin.access import Console, SignedIn
from digest.web.admin.audit_view import action_label, target_urls

OVERVIEW, BULLETINS = N_("Overview"), N_("Bulletins")
REFRESH_SECONDS = 5
# State names shown on the page (a bulletin's: jobs.bulletin_state).
STATES = {"held": N_("held"), "due": N_("due"), "sent": N_("sent"), "draft": N_("draft"),
          "rejected": N_("rejected"), "scheduled": N_("scheduled"),
          "cancelled": N_("cancelled")}


def routes(console: Console) -> list[BaseRoute]:
    zone = console.ctx.settings.site.zone

    def stamp(moment: datetime | None) -> str:
        return console_stamp(moment, zone) if moment is not None else "–"

    links: dict[str, Any] = {"stamp": stamp, "states": STATES, "action_label": action_label}

    async def page(request: Request, who: SignedIn) -> Response:
        data = await run_in_threadpool(overview, console.ctx)
        now = console.ctx.clock.now()
        slots = {digest.id: slot for digest, slot in next_digest_runs(console.ctx.settings, now)}
        return console.render(request, who, "dashboard.html.j2", title=OVERVIEW, data=data,
                              digests=console.ctx.settings.digests, slots=slots,
                              refresh=REFRESH_SECONDS, target_url=target_urls(console, who),
                              **links)

    async def bulletins(request: Request, who: SignedIn) -> Response:
        lines, problems = await run_in_threadpool(bulletin_lines, console.ctx)
        return console.render(request, who, "bulletins.html.j2", title=BULLETINS,
                              bulletins=lines, problems=problems,
                              target_url=target_urls(console, who), **links)

    async def script(request: Request) -> Response:
        body = render_template(console.ctx.settings, "web/admin/console.js.j2", {})
        return Response(body, media_type="text/javascript",
                        headers={"Cache-Control": "max-age=300"})

    return [Route("/", console.page(page), methods=["GET", "HEAD"]),
            Route("/bulletins", console.page(bulletins), methods=["GET", "HEAD"]),
            Route("/console.js", script, methods=["GET", "HEAD"])]
