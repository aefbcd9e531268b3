"""The console's access rules (issue 11, section 1), each against a real server.

- ``real``: a real ``digest serve`` process, signed in with a link printed by ``digest
  coordinators link``: no session, the link's single use (a GET never uses it), CSRF,
  a member's token, cookie flags, the same answer for any address, sign-out.
- ``served``: the same web app in a thread (``tests.web_app_server``) whose clock the test
  moves: expired links, idle and absolute session expiry, the per-address and per-client
  limits, a coordinator taken out of the config.
- The ASGI app where a server adds nothing: roles (editor, approver, a digest's own), the
  Secure flag under an https ``base_url``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from digest.config import Environment, load_settings
from digest.jobs.context import Context
from digest.jobs.sign_in import issue_link
from digest.models import Subscriber
from digest.store import Database, subscribers
from digest.testing import ManualClock
from digest.tokens import make_token
from digest.web.admin.access import Console, Form, Permission, SignedIn
from tests.admin_client import signed_in
from tests.conftest import run_digest
from tests.mail_server import FaultyHandler, free_port, smtp_server, wait_for
from tests.web_app_server import serving

SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
NOW_TEXT = "2019-03-18T08:00:00+01:00"  # NOW, as --now
CONFIG = """\
site:
  title: Social Affairs Forum
  base_url: {base_url}
  timezone: Europe/Brussels
  sender: {{name: Forum, address: forum@example.org}}
  database: sqlite:///var/digest.db
themes:
  culture: {{title: Culture}}
digests:
  - id: weekly
    title: Weekly
    cron: "0 8 * * mon"
    coordinators: [preview@example.org, {{email: weekly-boss@example.org, role: approver}}]
  - id: monthly
    title: Monthly
    cron: "0 8 1 * *"
coordinators:
  - {{email: editor@example.org, name: Eda, role: editor}}
  - {{email: Approver@Example.org, name: Abe, role: approver}}
web: {{port: {port}}}
"""
MEMBER = "member@example.org"


def write_config(folder: Path, base_url: str, port: int = 8040) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "schedules.yaml"
    path.write_text(CONFIG.format(base_url=base_url, port=port))
    return path


def make_ctx(config: Path, clock: ManualClock | None = None) -> Context:
    return Context(settings=load_settings(config), env=Environment(None, None, None, SECRET,
                                                                   None),
                   clock=clock or ManualClock(NOW))


def outbox(folder: Path) -> list[str]:
    box = folder / "out" / "outbox"
    return sorted(p.read_text() for p in box.glob("*.eml")) if box.is_dir() else []


def link_in(message: str) -> str:
    unfolded = message.replace("=\n", "").replace("=\r\n", "")
    found = re.search(r"^(http\S+/admin/login/[A-Za-z0-9_-]+)$", unfolded, re.M)
    assert found, message
    return found.group(1)


def member_tokens(ctx: Context) -> list[str]:
    with ctx.db.transaction() as connection:
        subscribers.add(connection, Subscriber(email=MEMBER, name="", language="en",
                                               digests=("weekly",)), NOW)
        member = next(m for m in subscribers.all_members(connection) if m.email == MEMBER)
    assert member.id is not None
    return [make_token(ctx.secret, member.id, "unsubscribe"),
            make_token(ctx.secret, member.id, "preferences")]


# ----------------------------------------------------------------- a real `digest serve`


@dataclass
class Real:
    folder: Path
    url: str

    def link(self, email: str) -> subprocess.CompletedProcess[str]:
        return run_digest(self.folder, "coordinators", "link", email, now=NOW_TEXT,
                          env={"DIGEST_SECRET_KEY": SECRET})

    def token(self, email: str) -> str:
        made = self.link(email)
        assert made.returncode == 0, made.stderr
        return link_in(made.stdout).rsplit("/", 1)[1]

    def sign_in(self, email: str) -> tuple[httpx.Client, str]:
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=20)
        answer = client.post(f"/admin/login/{self.token(email)}")
        assert answer.status_code == 303, answer.text
        page = client.get("/admin/")
        assert page.status_code == 200
        found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
        assert found
        return client, found.group(1)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Real]:
    folder = tmp_path_factory.mktemp("console")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    write_config(folder, url, port)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    environment["DIGEST_SECRET_KEY"] = SECRET
    process = subprocess.Popen([sys.executable, "-m", "digest", "--now", NOW_TEXT, "serve"],
                               cwd=folder, env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)

    def up() -> bool:
        assert process.poll() is None, process.communicate()
        try:
            return httpx.get(f"{url}/admin/login", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        assert wait_for(up, 120)
        yield Real(folder, url)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=60)
        assert "Traceback" not in err, err


def test_without_a_session_every_page_redirects_to_sign_in(real: Real) -> None:
    for cookie in ({}, {"digest_console": "forged"}, {"digest_console": "x" * 5000}):
        for path in ("/admin/", "/admin"):
            answer = httpx.get(real.url + path, cookies=cookie, follow_redirects=True)
            assert answer.url == f"{real.url}/admin/login", (path, cookie)
            assert answer.history[-1].status_code == 303
    answer = httpx.get(f"{real.url}/admin/")
    assert answer.status_code == 303 and answer.headers["location"] == f"{real.url}/admin/login"


def test_the_printed_link_signs_in_once_and_a_get_does_not_use_it(real: Real) -> None:
    token = real.token("editor@example.org")
    for _ in range(2):  # a mail scanner's GETs
        page = httpx.get(f"{real.url}/admin/login/{token}")
        assert page.status_code == 200 and 'method="post"' in page.text
    # Another site's page cannot use it (nor use it up).
    assert httpx.post(f"{real.url}/admin/login/{token}",
                      headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    first = httpx.post(f"{real.url}/admin/login/{token}",
                       headers={"Sec-Fetch-Site": "same-origin"})
    assert first.status_code == 303 and "digest_console" in first.cookies
    again = httpx.post(f"{real.url}/admin/login/{token}")
    assert again.status_code == 404 and "set-cookie" not in again.headers
    assert httpx.get(f"{real.url}/admin/login/{token}").status_code == 404
    overview = httpx.get(f"{real.url}/admin/", cookies=first.cookies)
    assert overview.status_code == 200 and "Eda" in overview.text


def test_signing_in_again_ends_the_browsers_older_session(real: Real) -> None:
    client, _ = real.sign_in("editor@example.org")
    older = client.cookies["digest_console"]
    assert client.post(f"/admin/login/{real.token('editor@example.org')}").status_code == 303
    assert client.cookies["digest_console"] != older
    assert client.get("/admin/").status_code == 200
    assert httpx.get(f"{real.url}/admin/", cookies={"digest_console": older}).status_code == 303


def test_the_cli_refuses_an_address_that_is_no_coordinator(real: Real) -> None:
    for address in (MEMBER, "nobody@example.org"):
        made = real.link(address)
        assert made.returncode == 2 and "no coordinator" in made.stderr
        assert made.stdout == ""


def test_the_session_cookie_is_http_only_lax_and_scoped(real: Real) -> None:
    answer = httpx.post(f"{real.url}/admin/login/{real.token('editor@example.org')}")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/admin" in cookie
    assert "secure" not in cookie  # base_url is http here (https: see below)
    assert answer.headers["cache-control"] == "no-store"


def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(real: Real) -> None:
    client, csrf = real.sign_in("editor@example.org")
    _, other_csrf = real.sign_in("approver@example.org")
    for data in ({}, {"csrf": ""}, {"csrf": other_csrf}, {"csrf": csrf[:-1] + "0"},
                 {"token": csrf}):
        refused = client.post("/admin/logout", data=data)
        assert refused.status_code == 403, data
        assert "set-cookie" not in refused.headers
        assert client.get("/admin/").status_code == 200  # still signed in
    assert client.post("/admin/logout", data={"csrf": csrf},
                       headers={"Content-Type": "text/plain"}).status_code == 403
    assert client.get("/admin/").status_code == 200
    assert client.post("/admin/logout", data={"csrf": csrf}).status_code == 200
    assert client.get("/admin/").status_code == 303
    # Without a session (the cookie gone), the same form is refused.
    assert httpx.post(f"{real.url}/admin/logout", data={"csrf": csrf}).status_code == 403


def test_a_members_token_never_opens_the_console(real: Real) -> None:
    ctx = make_ctx(real.folder / "schedules.yaml")
    try:
        tokens = member_tokens(ctx)
    finally:
        ctx.close()
    for token in tokens:
        assert httpx.get(f"{real.url}/admin/login/{token}").status_code == 404
        used = httpx.post(f"{real.url}/admin/login/{token}")
        assert used.status_code == 404 and "set-cookie" not in used.headers
        assert httpx.get(f"{real.url}/admin/", cookies={"digest_console": token}
                         ).status_code == 303
    assert httpx.get(f"{real.url}/u/{tokens[0]}").status_code == 200  # still a member's


def test_asking_for_a_link_answers_the_same_for_any_address(real: Real) -> None:
    before = len(outbox(real.folder))
    answers = [httpx.post(f"{real.url}/admin/login", data={"email": address})
               for address in ("approver@example.org", "nobody@example.org", MEMBER,
                               "not an address", "")]
    assert len({(a.status_code, a.text) for a in answers}) == 1, [a.text for a in answers]
    assert answers[0].status_code == 200
    assert wait_for(lambda: len(outbox(real.folder)) == before + 1)
    time.sleep(0.5)
    assert len(outbox(real.folder)) == before + 1  # only the coordinator got one
    mails = outbox(real.folder)
    sent = next(m for m in mails if "To: Abe <approver@example.org>" in m)
    link = link_in(sent)
    assert httpx.post(link).status_code == 303


# ------------------------------------------------------- the app in a thread, its clock moved


@dataclass
class Served:
    ctx: Context
    clock: ManualClock
    url: str
    folder: Path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    clock = ManualClock(NOW)
    ctx = make_ctx(write_config(tmp_path, url), clock)
    with serving(ctx, port) as base:
        assert base == url
        yield Served(ctx, clock, url, tmp_path)


def _client(served: Served) -> httpx.Client:
    return httpx.Client(base_url=served.url, follow_redirects=False, timeout=20)


def test_an_expired_link_is_refused(served: Served) -> None:
    just, late = (issue_link(served.ctx, "editor@example.org") for _ in range(2))
    assert just and late and just.startswith(f"{served.url}/admin/login/")
    served.clock.advance(timedelta(minutes=14, seconds=59))
    assert httpx.post(just).status_code == 303
    served.clock.advance(timedelta(seconds=1))
    assert httpx.get(late).status_code == 404
    refused = httpx.post(late)
    assert refused.status_code == 404 and "set-cookie" not in refused.headers


def test_a_session_ends_when_idle_and_at_the_latest_after_twelve_hours(served: Served) -> None:
    with _client(served) as client:
        signed_in((served.ctx, client), "editor@example.org")
        served.clock.advance(timedelta(hours=1, minutes=59))
        assert client.get("/admin/").status_code == 200
        for _ in range(6):  # active every 1 h 59: never idle, but not forever
            served.clock.advance(timedelta(hours=1, minutes=59))
            answer = client.get("/admin/")
        assert answer.status_code == 303  # 13 h 54 after signing in
    with _client(served) as client:
        signed_in((served.ctx, client), "editor@example.org")
        served.clock.advance(timedelta(hours=1, minutes=59))
        # The page's own live refresh does not keep the session alive...
        assert client.get("/admin/", headers={"X-Live-Refresh": "1"}).status_code == 200
        served.clock.advance(timedelta(minutes=2))
        assert client.get("/admin/").status_code == 303  # ...2 h 01 idle


def test_links_by_email_are_limited_per_address_and_per_client(served: Served) -> None:
    with _client(served) as client:
        answers = [client.post("/admin/login", data={"email": "editor@example.org"})
                   for _ in range(5)]
        assert {a.status_code for a in answers} == {200}
        assert wait_for(lambda: len(outbox(served.folder)) == 3)
        time.sleep(0.5)
        assert len(outbox(served.folder)) == 3
        served.clock.advance(timedelta(minutes=15))
        answers += [client.post("/admin/login", data={"email": "editor@example.org"})
                    for _ in range(5)]
        assert wait_for(lambda: len(outbox(served.folder)) == 6)  # a new window: 3 more
        refused = client.post("/admin/login", data={"email": "approver@example.org"})
        assert refused.status_code == 429  # the 11th request from this client
        time.sleep(0.5)
        assert len(outbox(served.folder)) == 6


def test_printed_links_do_not_use_up_the_emailed_quota(served: Served) -> None:
    """`digest coordinators link` (``issue_link`` without ``emailed``) is not limited and
    counts for nothing: after more printed links than the quota, and between mailed ones,
    the address still gets its 3 mailed links, and only 3."""
    from digest.jobs.sign_in import LINKS_PER_ADDRESS

    def printed() -> None:
        for _ in range(LINKS_PER_ADDRESS + 2):
            assert issue_link(served.ctx, "editor@example.org")

    printed()
    with _client(served) as client:
        for _ in range(LINKS_PER_ADDRESS + 1):
            assert client.post("/admin/login",
                               data={"email": "editor@example.org"}).status_code == 200
            printed()
        assert wait_for(lambda: len(outbox(served.folder)) == LINKS_PER_ADDRESS)
        time.sleep(0.5)
        assert len(outbox(served.folder)) == LINKS_PER_ADDRESS


def test_the_answer_does_not_wait_for_the_mail(tmp_path: Path) -> None:
    """A known address's answer comes as fast as an unknown one's, however slow the mail
    server: the link is sent after the answer (nothing to time)."""
    port = free_port()
    config = write_config(tmp_path, f"http://127.0.0.1:{port}")
    config.write_text(config.read_text() + "delivery: {transport: smtp}\n")
    with smtp_server(FaultyHandler(delay=2.0)) as (handler, smtp_url):
        ctx = Context(settings=load_settings(config),
                      env=Environment(None, smtp_url, None, SECRET, None), clock=ManualClock(NOW))
        with serving(ctx, port) as url:
            timings = {}
            for address in ("editor@example.org", "nobody@example.org", "approver@example.org"):
                started = time.monotonic()
                answer = httpx.post(f"{url}/admin/login", data={"email": address}, timeout=20)
                timings[address] = time.monotonic() - started
                assert answer.status_code == 200
            assert max(timings.values()) < 1.0, timings
            assert wait_for(lambda: len(handler.accepted) == 2, 20)
        assert sorted(handler.recipients()) == ["approver@example.org", "editor@example.org"]


def test_a_coordinator_taken_out_of_the_config_is_out_at_the_next_request(
        served: Served) -> None:
    config = served.folder / "schedules.yaml"
    with _client(served) as client, _client(served) as other:
        signed_in((served.ctx, client), "editor@example.org")
        signed_in((served.ctx, other), "approver@example.org")
        config.write_text(config.read_text().replace(
            "  - {email: editor@example.org, name: Eda, role: editor}\n", ""))
        assert client.get("/admin/").status_code == 303
        assert other.get("/admin/").status_code == 200
        config.write_text("site: [broken\n")  # unreadable: nobody is let in
        assert other.get("/admin/").status_code == 303


# ------------------------------------------------------------------ the ASGI app: roles


@pytest.fixture
def roles_app(tmp_path: Path) -> Iterator[tuple[Context, list[str]]]:
    ctx = make_ctx(write_config(tmp_path, "https://forum.example.org/digest"))
    yield ctx, []
    ctx.close()


def _roles_client(ctx: Context, done: list[str]) -> TestClient:
    from starlette.applications import Starlette

    from digest.web.admin import admin_routes

    console = Console(ctx)

    async def act(request: Request, who: SignedIn, form: Form) -> Response:
        done.append(f"{who.email} {request.url.path}")
        return PlainTextResponse("done")

    def digest_of(request: Request) -> str | None:
        return request.path_params.get("digest")

    permissions: tuple[Permission, ...] = ("edit", "test", "approve")
    probes = [Route(f"/{permission}/{{digest}}",
                    console.action(permission, act, digest_of=digest_of), methods=["POST"])
              for permission in permissions]
    probes += [Route(f"/{permission}", console.action(permission, act), methods=["POST"])
               for permission in permissions]
    app = Starlette(routes=[Mount("/digest", routes=[Mount("/admin/probe", routes=probes),
                                                     *admin_routes(ctx)])])
    return TestClient(app, base_url=ctx.settings.site.base_url, follow_redirects=False)


@pytest.mark.parametrize(("email", "allowed"), [
    ("editor@example.org", {"edit", "test", "edit/weekly", "test/weekly", "edit/monthly",
                            "test/monthly"}),
    ("approver@example.org", {"edit", "test", "approve", "edit/weekly", "test/weekly",
                              "approve/weekly", "edit/monthly", "test/monthly",
                              "approve/monthly"}),
    ("weekly-boss@example.org", {"edit/weekly", "test/weekly", "approve/weekly"}),
    ("preview@example.org", {"edit/weekly", "test/weekly"}),  # a plain address: an editor
])
def test_a_post_the_role_does_not_allow_is_refused(roles_app: tuple[Context, list[str]],
                                                    email: str, allowed: set[str]) -> None:
    ctx, done = roles_app
    client, csrf = signed_in((ctx, _roles_client(ctx, done)), email)
    every = {f"{p}{d}" for p in ("edit", "test", "approve") for d in ("", "/weekly",
                                                                       "/monthly")}
    for probe in sorted(every):
        answer = client.post(f"/admin/probe/{probe}", data={"csrf": csrf})
        assert answer.status_code == (200 if probe in allowed else 403), (email, probe)
    assert sorted(done) == sorted(f"{email} /digest/admin/probe/{p}" for p in allowed)


def test_the_cookie_is_secure_under_an_https_base_url(roles_app: tuple[Context, list[str]],
                                                       ) -> None:
    ctx, done = roles_app
    client = _roles_client(ctx, done)
    link = issue_link(ctx, "approver@example.org")
    assert link and link.startswith("https://forum.example.org/digest/admin/login/")
    answer = client.post(link)
    cookie = answer.headers["set-cookie"].lower()
    assert "secure" in cookie and "path=/digest/admin" in cookie and "httponly" in cookie
    assert answer.headers["location"] == "https://forum.example.org/digest/admin/"


# ------------------------------------------------------------------ the store, both kinds


def test_the_store_keeps_hashes_and_uses_a_link_once(db: Database) -> None:
    from digest.jobs.sign_in import token_hash
    from digest.store import console_access
    from digest.store.schema import console_links, console_sessions

    token, later = "a-link-token", NOW + timedelta(minutes=5)
    with db.transaction() as connection:
        console_access.add_link(connection, token_hash(token), "ed@example.org", NOW,
                                timedelta(minutes=15), emailed=True)
        console_access.add_link(connection, token_hash("printed"), "ed@example.org", NOW,
                                timedelta(minutes=15))  # not counted
        assert console_access.links_since(connection, "ed@example.org", NOW - timedelta(
            minutes=15)) == 1
        assert console_access.links_since(connection, "ed@example.org", NOW) == 0
        assert console_access.use_link(connection, token_hash(token), later) == "ed@example.org"
        assert console_access.use_link(connection, token_hash(token), later) is None
        assert console_access.use_link(connection, token_hash("other"), later) is None
        console_access.open_session(connection, token_hash("session"), "ed@example.org", NOW)
        stored = [*connection.execute(select(console_links)).mappings(),  # hashes only
                  *connection.execute(select(console_sessions)).mappings()]
    assert all(token not in str(dict(row)) and "session" not in row["token_hash"]
               for row in stored)
    idle, absolute = timedelta(hours=2), timedelta(hours=12)

    def live(at: datetime) -> str | None:
        with db.transaction() as connection:
            found = console_access.live_session(connection, token_hash("session"), at,
                                                idle=idle, absolute=absolute)
        return found.email if found else None

    assert live(NOW + timedelta(hours=1)) == "ed@example.org"
    assert live(NOW + timedelta(hours=3, minutes=1)) is None  # idle since 1:00
    with db.transaction() as connection:
        console_access.end_session(connection, token_hash("session"), NOW + timedelta(hours=2))
    assert live(NOW + timedelta(hours=2)) is None
    with db.transaction() as connection:  # what can no longer sign in is dropped
        console_access.forget(connection, NOW + timedelta(minutes=10))
        assert connection.execute(select(console_links)).first() is not None
        console_access.forget(connection, NOW + timedelta(hours=3))
        assert connection.execute(select(console_links)).first() is None
        assert connection.execute(select(console_sessions)).first() is None


def test_a_digests_coordinators_may_be_plain_addresses_or_roles(tmp_path: Path) -> None:
    from digest.config.coordinators import coordinator_access

    settings = load_settings(write_config(tmp_path, "https://forum.example.org"))
    weekly = settings.digest("weekly")
    assert weekly is not None
    assert [(c.email, c.role) for c in weekly.coordinators] == [
        ("preview@example.org", "editor"), ("weekly-boss@example.org", "approver")]
    preview = coordinator_access(settings, "PREVIEW@example.org")
    assert preview is not None and preview.site is None
    assert preview.role_for("weekly") == "editor" and preview.role_for("monthly") is None
    assert coordinator_access(settings, MEMBER) is None
