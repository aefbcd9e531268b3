"""STAND-IN for the access helper's test client (branch console-access owns the real one;
the lead keeps that version at merge): a TestClient holding a coordinator's session."""

from __future__ import annotations

from starlette.testclient import TestClient

from digest.jobs.context import Context
from digest.web.admin.access import COOKIE, csrf_token, sign_in_cookie
from digest.web.app import create_app


def signed_in(ctx: Context, email: str) -> tuple[TestClient, str]:
    """A client of ``ctx``'s app signed in as ``email``, and the session's CSRF token."""
    client = TestClient(create_app(ctx), base_url="https://forum.example.org")
    client.cookies.set(COOKIE, sign_in_cookie(ctx, email))
    return client, csrf_token(ctx, email)
