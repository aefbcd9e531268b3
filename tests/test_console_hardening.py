"""The console's boundaries (a review of issue 11), each as a class of input:

- an "as member" preview never holds the member's unsubscribe or preferences token;
- a control character in any console path or query value, or a number beyond the store's
  columns in any integer path parameter, answers 400 or 404, never a 500 (every GET route
  the app lists, on SQLite and PostgreSQL), and the jobs refuse them below the web too;
- the preview's live refresh does not keep a session alive and stops once it ends;
- any /admin path without a session goes to the sign-in page; signed in, an unknown one
  is a 404 in the console's frame;
- members' pages need a site-level coordinator (the matrix of roles);
- the members upload's CSRF token is its first form field, never in the URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from starlette.routing import Mount, Route

from digest.errors import InputError
from digest.jobs import members_admin
from digest.jobs.console_preview import Audience, Previews
from digest.jobs.context import Context
from digest.jobs.manual import find_edition
from digest.jobs.member_message import resolve
from digest.models import SubscriberStatus
from digest.store import subscribers
from digest.testing import ManualClock
from digest.tokens import make_token
from digest.web.admin import admin_routes
from tests.admin_client import signed_in
from tests.conftest import reset_postgres
from tests.test_console_preview import CORA, NOW, SLUG, make_context, make_project
from tests.web_app_server import serving

AVA = "ava@example.org"  # a site-level approver
DORA = "dora@example.org"  # a plain address in weekly's coordinators: its editor only
DAN = "dan@example.org"  # weekly's own approver
HUGE = (2**31, 10**20)  # beyond PostgreSQL's INTEGER; beyond SQLite's 64 bits
CONTROLS = ("\x00", "a\x00b", "\x01", "\n", "\x7f")
# A valid value of each path parameter of the console's routes.
VALID = {"digest": "weekly", "number": "1", "slug": SLUG, "member_id": "1",
         "token": "x" * 43, "path": "nope"}
MEMBERS_PAGES = ("/admin/members", "/admin/members.csv", "/admin/members/problems",
                 "/admin/members/import", "/admin/members/1")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
    folder = make_project(tmp_path_factory.mktemp(f"hardening-{request.param}"), url)
    config = folder / "schedules.yaml"
    text = config.read_text().replace(
        "    approval: true\n", "    approval: true\n    coordinators:\n"
        f"      - {DORA}\n      - {{email: {DAN}, role: approver}}\n", 1)
    config.write_text(text + f"  - {{email: {AVA}, name: Ava, role: approver}}\n")
    ctx = make_context(folder, url)
    yield ctx
    ctx.close()


def _tokens(ctx: Context, member_id: int) -> list[str]:
    return [make_token(ctx.secret, member_id, purpose)
            for purpose in ("unsubscribe", "preferences")]


# ---------------------------------------------------------------- 1. as member: no token

def test_as_member_previews_hold_no_members_token(site: Context) -> None:
    client, _ = signed_in(site, CORA)
    with site.db.transaction() as connection:
        members = subscribers.all_members(connection)
    assert len(members) >= 5
    shown = 0
    for member in members:
        assert member.id is not None
        for path in ("/admin/editions/weekly/1", "/admin/editions/weekly/1/email.html",
                     f"/admin/bulletins/{SLUG}", f"/admin/bulletins/{SLUG}/email.html"):
            answer = client.get(path, params={"member": member.email})
            for token in _tokens(site, member.id):
                assert token not in answer.text, (path, member.email)
            if answer.status_code == 200 and path.endswith("email.html"):
                assert f"{site.settings.site.base_url}/u/preview" in answer.text
                shown += 1
    active = [m for m in members if m.status is SubscriberStatus.ACTIVE]
    assert active and shown >= len(active)  # each one's message was shown at least once


# ------------------------------------------------ 2. control characters and huge numbers

def _get_routes(ctx: Context) -> list[Route]:
    """Every GET route of the console, as the app mounts them."""
    mounts = [r for r in admin_routes(ctx) if isinstance(r, Mount)]
    found = [r for m in mounts for r in m.routes
             if isinstance(r, Route) and r.methods and "GET" in r.methods]
    assert len(found) >= 15
    return found


def _path(route: Route, **values: str) -> str:
    path = route.path
    for name in route.param_convertors:
        value = quote(values.get(name, VALID[name]), safe="")  # never a backslash
        path = re.sub(r"\{" + name + r"(:[a-z]+)?\}", value, path)
    return "/admin" + path


def _refused(answer: Any, *statuses: int) -> None:
    assert answer.status_code in statuses, (answer.request.url, answer.status_code)
    assert "Traceback" not in answer.text
    assert answer.headers.get("cache-control") == "no-store", answer.request.url


def test_every_get_route_refuses_control_characters_and_huge_numbers(site: Context) -> None:
    client, _ = signed_in(site, CORA)
    routes = _get_routes(site)
    for route in routes:
        for control in CONTROLS:
            query = {"q": control, "member": control, "language": control,
                     "themes": control, "status": control, "page": control}
            for name, value in query.items():
                _refused(client.get(_path(route), params={name: value}), 400)
            for name in route.param_convertors:
                for value in (control, VALID[name] + control):
                    _refused(client.get(_path(route, **{name: value})), 400)
        for name, convertor in route.param_convertors.items():
            if type(convertor).__name__ == "IntegerConvertor":
                for number in HUGE:
                    _refused(client.get(_path(route, **{name: str(number)})), 404)
                _refused(client.get(_path(route, **{name: "x"})), 404)  # not a number
    # The reviewer's addresses, as a browser sends them.
    for path in ("/admin/members?q=%00", "/admin/members?q=a%00b",
                 "/admin/editions/weekly/1?member=%00",
                 "/admin/editions/weekly/1/email.html?member=%00",
                 f"/admin/bulletins/{SLUG}?member=%00x", "/admin/editions/a%00/1"):
        _refused(client.get(path), 400)
    for path in ("/admin/editions/weekly/2147483648", "/admin/members/2147483648",
                 "/admin/editions/weekly/99999999999999999999",
                 "/admin/editions/weekly/99999999999999999999/email.pdf",
                 "/admin/editions/weekly/99999999999999999999/fingerprint",
                 "/admin/members/99999999999999999999"):
        _refused(client.get(path), 404)
    client.cookies.clear()  # without a session: the sign-in page, as for every GET
    answer = client.get("/admin/members?q=%00")
    assert answer.status_code == 303 and answer.headers["location"].endswith("/admin/login")


def test_the_jobs_refuse_control_characters_and_huge_numbers(site: Context) -> None:
    """Below the web: the same values from any caller find nothing, never a store error."""
    previews = Previews(site)
    for number in HUGE:
        for label in (f"weekly/{number}", str(number), f"bulletin:{SLUG}/{number}"):
            with pytest.raises(InputError):
                find_edition(site, label)
        assert members_admin.member(site, number) is None
        assert members_admin.member(site, -number) is None
        with pytest.raises(InputError):
            previews.edition("weekly", number)
        with pytest.raises(InputError):
            previews.edition_fingerprint("weekly", number)
    for control in CONTROLS:
        with pytest.raises(InputError):
            find_edition(site, f"weekly{control}/1")
        with pytest.raises(InputError):
            members_admin.search(site, f"an{control}na", "", 1)
        with pytest.raises(InputError):
            resolve(site, Audience(member=f"anna.kowalska@example.org{control}"), "weekly")
        with pytest.raises(InputError):
            previews.edition(f"weekly{control}", 1)
        with pytest.raises(InputError):
            previews.bulletin(SLUG, Audience(member=f"{control}x"))


# ------------------------------------------------------------- 3. live refresh and idle

def test_live_refresh_requests_do_not_keep_a_session_alive(site: Context) -> None:
    ctx = make_context(site.settings.base_dir, site.env.database_url)
    clock = ctx.clock
    assert isinstance(clock, ManualClock)
    try:
        polling, _ = signed_in(ctx, CORA)
        reading, _ = signed_in(ctx, CORA)
        live = {"X-Live-Refresh": "1"}
        for minutes in (30, 60, 90, 119):
            clock.set(NOW + timedelta(minutes=minutes))
            assert polling.get("/admin/editions/weekly/1/fingerprint",
                               headers=live).status_code == 200
            assert reading.get("/admin/editions/weekly/1/fingerprint").status_code == 200
        clock.set(NOW + timedelta(minutes=121))
        gone = polling.get("/admin/editions/weekly/1/fingerprint", headers=live)
        assert gone.status_code == 303  # only polled: idle since sign-in
        assert reading.get("/admin/editions/weekly/1/fingerprint").status_code == 200
    finally:
        ctx.close()


def test_the_preview_script_stops_after_sign_out_in_chromium(browser: Any,
                                                             site: Context) -> None:
    ctx = make_context(site.settings.base_dir, site.env.database_url)
    client, csrf = signed_in(ctx, CORA)
    with serving(ctx) as url:
        context = browser.new_context()
        context.add_cookies([{"name": n, "value": v, "url": url}
                             for n, v in client.cookies.items()])
        page = context.new_page()
        seen: list[tuple[str, str | None]] = []
        page.on("request", lambda r: seen.append((r.url, r.headers.get("x-live-refresh"))))
        page.goto(f"{url}/admin/bulletins/{SLUG}")
        page.wait_for_timeout(1500)
        polls = [header for address, header in seen if address.endswith("/fingerprint")]
        assert len(polls) >= 2 and set(polls) == {"1"}
        assert client.post("/admin/logout", data={"csrf": csrf}).status_code == 200
        page.wait_for_timeout(1200)

        def polls_now() -> int:
            return sum(address.endswith("/fingerprint") for address, _ in seen)

        count = polls_now()
        page.wait_for_timeout(1500)
        assert polls_now() == count  # stopped at the first refused poll
        assert page.url == f"{url}/admin/bulletins/{SLUG}"
        assert page.locator("#live iframe").count() == 2  # not swapped for the sign-in page
        context.close()
        client.close()


# ------------------------------------------------------------------ 4. unknown paths

# (A GET of a POST-only page, /admin/logout..., is a 405: tests/test_console_methods.py.)
@pytest.mark.parametrize("path", ["/admin/nope", "/admin/members/x",
                                  "/admin/editions/weekly/x", "/admin/bulletins/a/b/c"])
def test_unknown_admin_paths(site: Context, path: str) -> None:
    client, _ = signed_in(site, CORA)
    answer = client.get(path)
    _refused(answer, 404)
    assert 'class="console-nav"' in answer.text and "Page not found" in answer.text
    assert client.post(path, data={"x": "y"}).status_code == 404
    client.cookies.clear()
    for method in (client.get, client.head):
        away = method(path)
        assert away.status_code == 303, path
        assert away.headers["location"] == f"{site.settings.site.base_url}/admin/login"
    for unreadable in ("/admin/%0A", "/admin/a%0Ab/c", "/admin/x%00", "/admin/members?q=%0D"):
        away = client.get(unreadable)
        assert away.status_code == 303, unreadable
        assert away.headers["location"] == f"{site.settings.site.base_url}/admin/login"


# ------------------------------------------------------------- 5. members need a site role

@pytest.mark.parametrize(("who", "allowed"), [(CORA, True), (AVA, True), (DORA, False),
                                              (DAN, False)])
def test_members_pages_need_a_site_level_role(site: Context, who: str, allowed: bool) -> None:
    client, csrf = signed_in(site, who)
    for path in MEMBERS_PAGES:
        answer = client.get(path)
        assert answer.status_code == (200 if allowed else 403), (who, path)
        if not allowed:
            assert "anna.kowalska" not in answer.text
    upload = client.post("/admin/members/import", data={"csrf": csrf},
                         files={"file": ("m.csv", b"email\nnew@example.org\n", "text/csv")})
    assert upload.status_code == (200 if allowed else 403)
    overview = client.get("/admin/").text
    assert ('href="' + site.settings.site.base_url + '/admin/members"' in overview) == allowed
    apply = client.post("/admin/members/import/apply", data={"csrf": csrf, "token": "x",
                                                              "sha256": "y"})
    assert apply.status_code == (400 if who == AVA else 403)  # approver of the site only
    if who in (DORA, DAN):  # their digest's own pages stay theirs
        assert client.get("/admin/editions/weekly/1").status_code == 200
    # Previewing "as member" names a member: the same site role as the members' pages.
    # Without it the choice of address is neither offered nor read (a variant only).
    for path in ("/admin/editions/weekly/1?member=anna.kowalska%40example.org",
                 "/admin/editions/weekly/1/email.html?member=anna.kowalska%40example.org",
                 "/admin/bulletins/2019-03-wg-smart-social-inclusion"
                 "?member=anna.kowalska%40example.org"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        if not allowed:
            assert "anna.kowalska" not in answer.text, (who, path)
        elif "email.html" not in path:  # the page names the member previewed
            assert "anna.kowalska" in answer.text, (who, path)


# ------------------------------------------------------------ 6. the upload's CSRF token

def test_the_upload_token_is_a_form_field_never_in_the_url(site: Context) -> None:
    client, csrf = signed_in(site, CORA)
    page = client.get("/admin/members/import").text
    form = page[page.index('enctype="multipart/form-data"'):]
    assert "csrf=" not in page and csrf not in page.split("<form")[0]
    assert form.index('name="csrf"') < form.index('name="file"')
    data = b"email\nnew.member@example.org\n"
    file = {"file": ("m.csv", data, "text/csv")}
    assert client.post(f"/admin/members/import?csrf={csrf}", files=file).status_code == 403
    assert client.post("/admin/members/import", files=file).status_code == 403
    assert client.post("/admin/members/import", data={"csrf": "0" * 64},
                       files=file).status_code == 403
    assert client.post("/admin/members/import", data={"csrf": csrf * 40},
                       files=file).status_code == 403
    after = client.post("/admin/members/import", files={
        "file": ("m.csv", data, "text/csv"), "csrf": (None, csrf)})  # the file first
    assert after.status_code == 403
    done = client.post("/admin/members/import", data={"csrf": csrf}, files=file)
    assert done.status_code == 200
    assert "new.member@example.org" in done.text.replace("<wbr>", "")
    assert client.post("/admin/members/import", data={"csrf": csrf},
                       files={"other": ("m.csv", data, "text/csv")}).status_code == 400
    assert client.post("/admin/members/import", data={"csrf": csrf}).status_code == 400
    assert not any("new.member" in m for m in _emails(site))  # a dry run changes nothing


def _emails(ctx: Context) -> list[str]:
    with ctx.db.transaction() as connection:
        return [m.email for m in subscribers.all_members(connection)]


def test_the_refusal_pages_pass_axe(browser: Any, site: Context) -> None:
    from tests.test_accessibility import axe_violations

    client, _ = signed_in(site, CORA)
    digest_only, _ = signed_in(site, DORA)
    pages = {"not-found": client.get("/admin/nope"),
             "not-found-fr": client.get("/admin/nope", headers={"Accept-Language": "fr"}),
             "unreadable": client.get("/admin/members?q=%00"),
             "members-forbidden": digest_only.get("/admin/members"),
             "overview-digest-only": digest_only.get("/admin/")}
    assert "Page introuvable" in pages["not-found-fr"].text
    for name, answer in pages.items():
        for width in (375, 1024):
            violations = axe_violations(browser, name, width, html=answer.text)
            assert not violations, (name, width, [v["id"] for v in violations])
