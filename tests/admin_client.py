"""STAND-IN of the access helper's test helper (replaced at merge): a client signed in to
the console as ``email``, with the CSRF token its forms carry."""

from __future__ import annotations

from starlette.testclient import TestClient

from digest.jobs.context import Context
from digest.web.admin.access import COOKIE, Console, session_cookie
from digest.web.app import create_app


def signed_in(ctx_or_client: Context | TestClient, email: str) -> tuple[TestClient, str]:
    """A TestClient of ``ctx``'s app holding ``email``'s session, and its CSRF token."""
    if isinstance(ctx_or_client, TestClient):
        raise NotImplementedError("the stand-in signs in a Context only")
    ctx = ctx_or_client
    client = TestClient(create_app(ctx), base_url="http://testserver")
    client.cookies.set(COOKIE, session_cookie(ctx, email))
    who = Console(ctx)._who_of(email)
    assert who is not None, f"{email} is no coordinator"
    return client, who.csrf
