"""The console's overview, ``GET /admin/``: what goes out next and when, what waits, what is
being sent, which sources fail, and what coordinators did lately.

The numbers come from ``digest.jobs.overview`` (one read of the store) and each digest's
next slot from the scheduler's own rule. The page works without JavaScript; with it, the
small ``/admin/console.js`` fetches the page again every few seconds and swaps in the
parts marked ``data-live`` (the editions being sent, the bulletins), so counts move while
an edition goes out. Those background fetches do not count as activity for the session's
idle expiry.
"""

from __future__ import annotations

from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from digest.dates import console_stamp
from digest.jobs.overview import overview
from digest.render.i18n import N_
from digest.render.templating import render_template
from digest.scheduler import next_digest_runs
from digest.web.admin.access import Console, SignedIn
from digest.web.admin.acting import ACTION_LABELS

OVERVIEW = N_("Overview")
REFRESH_SECONDS = 5
# State names shown on the page (a bulletin's: jobs.bulletin_state).
STATES = {"held": N_("held"), "due": N_("due"), "sent": N_("sent"), "draft": N_("draft"),
          "rejected": N_("rejected"), "scheduled": N_("scheduled"),
          "cancelled": N_("cancelled")}


def routes(console: Console) -> list[BaseRoute]:
    zone = console.ctx.settings.site.zone

    def stamp(moment: datetime | None) -> str:
        return console_stamp(moment, zone) if moment is not None else "–"

    async def page(request: Request, who: SignedIn) -> Response:
        data = await run_in_threadpool(overview, console.ctx)
        now = console.ctx.clock.now()
        slots = {digest.id: slot for digest, slot in next_digest_runs(console.ctx.settings, now)}
        return console.render(request, who, "dashboard.html.j2", title=OVERVIEW, data=data,
                              digests=console.ctx.settings.digests, slots=slots,
                              stamp=stamp, states=STATES, refresh=REFRESH_SECONDS,
                              action_labels=ACTION_LABELS)

    async def script(request: Request) -> Response:
        body = render_template(console.ctx.settings, "web/admin/console.js.j2", {})
        return Response(body, media_type="text/javascript",
                        headers={"Cache-Control": "max-age=300"})

    return [Route("/", console.page(page), methods=["GET", "HEAD"]),
            Route("/console.js", script, methods=["GET", "HEAD"])]
