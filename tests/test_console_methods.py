"""Every console route answers a method it does not take with 405, an ``Allow`` header
naming the methods its path does take, in the console's own frame (signed in or not):
never the console's 404 for a page that exists, never the members' error page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from digest.jobs.context import Context
from digest.web.admin import admin_routes
from digest.web.app import create_app
from tests.admin_client import signed_in
from tests.test_console_preview import CORA, SLUG, make_context, make_project
from tests.web_app_server import serving

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
VALID = {"digest": "weekly", "number": "1", "slug": SLUG, "member_id": "1",
         "token": "x" * 43}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    ctx = make_context(make_project(tmp_path_factory.mktemp("methods")))
    yield ctx
    ctx.close()


def _console_routes(ctx: Context) -> list[tuple[str, set[str]]]:
    """(a path of each console route, the methods every route with that path takes)."""
    top = admin_routes(ctx)
    inner = [r for m in top if isinstance(m, Mount) for r in m.routes
             if isinstance(r, Route) and "{path:path}" not in r.path]
    paths: list[tuple[str, str]] = []
    for route in inner:
        path = route.path
        for name in route.param_convertors:
            path = re.sub(r"\{" + name + r"(:[a-z]+)?\}", VALID[name], path)
        paths.append(("/admin" + path, path))
    found = {"/admin": {"GET", "HEAD"}}  # its redirect to /admin/
    for shown, relative in paths:
        found[shown] = {m for r in inner if r.path_regex.match(relative)
                        for m in r.methods or ()}
    assert len(found) >= 25 and all(found.values())
    return sorted(found.items())


def _assert_refused(answer: httpx.Response, method: str, allowed: set[str]) -> None:
    where = (method, str(answer.request.url))
    assert answer.status_code == 405, (*where, answer.status_code)
    assert set(answer.headers["allow"].split(", ")) == allowed, where
    assert answer.headers["cache-control"] == "no-store", where
    if method != "HEAD":
        assert "Console</p>" in answer.text and "Not allowed" in answer.text, where
        assert "no such page" not in answer.text, where


@pytest.mark.parametrize("signed", [True, False])
def test_every_console_route_refuses_other_methods_with_405(site: Context,
                                                             signed: bool) -> None:
    if signed:
        client, _ = signed_in(site, CORA)
    else:
        client = TestClient(create_app(site), base_url=site.settings.site.base_url,
                            follow_redirects=False)
    for path, allowed in _console_routes(site):
        for method in METHODS:
            if method in allowed:
                continue
            _assert_refused(client.request(method, path), method, allowed)


def test_the_reviewers_requests_over_http(tmp_path: Path) -> None:
    ctx = make_context(make_project(tmp_path))
    with serving(ctx) as url, httpx.Client(base_url=url, timeout=20) as client:
        for method, path, allowed in (
                ("PUT", "/admin/", {"GET", "HEAD"}), ("DELETE", "/admin/login", {"GET", "HEAD",
                                                                                 "POST"}),
                ("OPTIONS", "/admin/", {"GET", "HEAD"}), ("TRACE", "/admin/login",
                                                          {"GET", "HEAD", "POST"}),
                ("GET", "/admin/logout", {"POST"})):
            _assert_refused(client.request(method, path), method, allowed)
        assert client.request("PUT", "/admin/nope").status_code == 404  # no such page
