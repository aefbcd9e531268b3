"""A coordinator signed in to the console, for tests: through the real link flow.

``signed_in(ctx, email)`` makes a sign-in link as ``digest coordinators link`` does
(``digest.jobs.sign_in.issue_link``), posts its button as a browser would, and returns a
client holding the session cookie with the CSRF token to put in forms. Given a Starlette
``TestClient`` or an ``httpx.Client`` (against a served app: ``tests.web_app_server``)
instead of a context, it signs in on that client, whose app's context is ``ctx``.
"""

from __future__ import annotations

import re
from typing import TypeVar

import httpx
from starlette.testclient import TestClient

from digest.jobs import sign_in
from digest.jobs.context import Context
from digest.web.app import create_app

Client = TypeVar("Client", bound=httpx.Client)
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def signed_in(ctx_or_client: Context | tuple[Context, Client], email: str,
              ) -> tuple[httpx.Client, str]:
    """(client with a session, its CSRF token) for the coordinator ``email``.

    ``ctx_or_client``: a ``Context`` (a new ``TestClient`` of its app, its requests sent
    to ``site.base_url``), or ``(ctx, client)`` for a client of your own (a TestClient of
    ``create_app(ctx)``, or an ``httpx.Client`` with ``base_url`` the served app's URL)."""
    if isinstance(ctx_or_client, Context):
        ctx = ctx_or_client
        client: httpx.Client = TestClient(create_app(ctx), base_url=ctx.settings.site.base_url,
                                          follow_redirects=False)
    else:
        ctx, client = ctx_or_client
    url = sign_in.issue_link(ctx, email)
    assert url is not None, f"{email} is no coordinator of this config"
    token = url.rsplit("/", 1)[1]
    answer = client.post(f"/admin/login/{token}", follow_redirects=False)
    assert answer.status_code == 303, (answer.status_code, answer.text[:500])
    page = client.get("/admin/", follow_redirects=False)
    assert page.status_code == 200, (page.status_code, page.text[:500])
    found = _CSRF.search(page.text)
    assert found, "no CSRF token on the overview"
    return client, found.group(1)
