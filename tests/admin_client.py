"""STAND-IN for the access helper's test helper (branch console-access): the same API,
``signed_in(ctx, email) -> (client, csrf)``. The lead keeps the access helper's version,
which signs in through the real link flow."""

from __future__ import annotations

from starlette.testclient import TestClient

from digest.jobs.context import Context
from digest.web.admin.access import COOKIE, csrf_of, session_cookie
from digest.web.app import create_app


def signed_in(ctx: Context, email: str) -> tuple[TestClient, str]:
    """A client of ``ctx``'s web app holding ``email``'s session, and its CSRF token."""
    client = TestClient(create_app(ctx), base_url=ctx.settings.site.base_url)
    client.cookies.set(COOKIE, session_cookie(ctx, email))
    return client, csrf_of(ctx, email)
