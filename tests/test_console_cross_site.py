"""Another site's page cannot post to the console, whatever it carries (docs/console.md,
"Forms"): every POST route of the console, with a live session and its valid CSRF token
(as a leaked token or a sibling host would have them), is refused when the browser says
the form came from elsewhere: ``Sec-Fetch-Site: cross-site`` or ``same-site`` (a sibling
host of the same domain gets the ``SameSite=Lax`` cookie), or an ``Origin`` that is not
``site.base_url``'s (older browsers send only that one). Chromium's ``Origin: null`` on the
console's own forms (their pages send no referrer) with ``Sec-Fetch-Site: same-origin`` is
the console's own form, and accepted.
The sign-in link and the link request, which have no session to tie a token to, likewise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.routing import Mount, Route

from digest.jobs import sign_in
from digest.jobs.context import Context
from digest.store import audit
from digest.web.admin import admin_routes
from digest.web.admin.access import origin_of
from tests.admin_client import signed_in
from tests.test_console_preview import CORA, SLUG, make_context, make_project

AVA = "ava@example.org"  # a site-level approver: every action is open to her
FOREIGN = ({"Origin": "https://evil.example"},
           {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
           {"Origin": "https://forum.example.org.evil.example"},
           {"Origin": "http://forum.example.org"},  # the console is https
           {"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "cross-site"},
           {"Sec-Fetch-Site": "same-site", "Origin": "https://forum.example.org"})
VALID = {"digest": "weekly", "number": "1", "slug": SLUG, "member_id": "1"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    folder = make_project(tmp_path_factory.mktemp("cross-site"))
    config = folder / "schedules.yaml"
    config.write_text(config.read_text() + f"  - {{email: {AVA}, name: Ava, role: approver}}\n")
    ctx = make_context(folder)
    assert ctx.settings.site.base_url == "https://forum.example.org/digest"
    yield ctx
    ctx.close()


def _post_paths(ctx: Context) -> list[str]:
    """Every POST path of the console, its parameters filled in."""
    mounts = [r for r in admin_routes(ctx) if isinstance(r, Mount)]
    paths = []
    for route in (r for m in mounts for r in m.routes if isinstance(r, Route)):
        if route.methods and "POST" in route.methods:
            path = route.path
            for name in route.param_convertors:
                value = VALID.get(name, "x" * 43)
                path = re.sub(r"\{" + name + r"(:[a-z]+)?\}", value, path)
            paths.append("/admin" + path)
    assert len(paths) >= 25 and "/admin/logout" in paths
    return paths


def _actions(ctx: Context) -> int:
    with ctx.db.transaction() as connection:
        return len(audit.latest(connection, 10_000))


def test_every_console_post_from_another_site_is_refused(site: Context) -> None:
    client, csrf = signed_in(site, AVA)
    fields = {"csrf": csrf, "reason": "r", "note": "n", "item": "x", "to": AVA,
              "send_at": "2030-01-31T09:00"}
    before = _actions(site)
    for path in _post_paths(site):
        if "/login" in path:
            continue  # below: no session, no token
        for headers in FOREIGN:
            answer = client.post(path, data=fields, headers=headers)
            assert answer.status_code == 403, (path, headers, answer.status_code)
            assert "set-cookie" not in answer.headers
    assert _actions(site) == before  # nothing approved, cancelled, curated, imported...
    assert client.get("/admin/").status_code == 200  # still signed in
    # The console's own pages post as before: same origin, with or without a default port.
    for index, headers in enumerate((
            {"Origin": "https://forum.example.org", "Sec-Fetch-Site": "same-origin"},
            {"Origin": "null", "Sec-Fetch-Site": "same-origin"},  # Chromium, no referrer
            {"Origin": "https://FORUM.example.org:443"}, {})):
        note = client.post("/admin/editions/weekly/1/note",
                           data={"csrf": csrf, "note": f"From here {index}."},
                           headers=headers)
        assert note.status_code == 200, headers
    assert _actions(site) == before + 4


def test_a_sign_in_from_another_site_is_refused_and_leaves_the_link_usable(
        site: Context) -> None:
    client, _ = signed_in(site, CORA)
    client.cookies.clear()
    url = sign_in.issue_link(site, CORA)
    assert url is not None
    path = "/admin/login/" + url.rsplit("/", 1)[1]
    for headers in FOREIGN:
        answer = client.post(path, headers=headers)
        assert answer.status_code == 403, headers
        assert "set-cookie" not in answer.headers
        asked = client.post("/admin/login", data={"email": CORA}, headers=headers)
        assert asked.status_code == 403, headers
    assert client.get("/admin/").status_code == 303  # not signed in by any of them
    used = client.post(path, headers={"Origin": "https://forum.example.org"})
    assert used.status_code == 303 and "digest_console" in used.cookies


@pytest.mark.parametrize(("url", "origin"), [
    ("https://forum.example.org/digest", "https://forum.example.org"),
    ("https://Forum.Example.org:443/", "https://forum.example.org"),
    ("http://127.0.0.1:8040/digest", "http://127.0.0.1:8040"),
    ("http://[::1]:80", "http://[::1]"),
    ("null", ""), ("https://x:port", ""), ("ftp://x.org", "")])
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(url) == origin
