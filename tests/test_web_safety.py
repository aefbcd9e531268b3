"""The web app must not leak or fall over (issue 9, section 4), tested on a real
``digest serve`` over HTTP and raw sockets, with real files: private files are never served
whatever the config, request bodies and request time are bounded, every answer carries the
security headers, redirects never trust the Host header, every link resolves, a bounced
member is told the truth, and a deleted member's link never acts on a newer member."""

from __future__ import annotations

import email
import email.policy
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from digest.config import Environment, Settings
from digest.jobs.context import Context
from digest.models import SubscriberStatus
from digest.store import Database, subscribers
from digest.testing import ManualClock
from digest.tokens import make_token
from tests.conftest import ROOT, SAMPLE_NOW, approve_sample_bulletin, run_digest
from tests.mail_server import free_port, wait_for
from tests.web_app_server import raw_exchange, serving

SECRET = "k3y-for-tests-0123456789abcdefghijklmnopqrstuvwxyz"
BASE_URL = "https://forum.example.org/digest"
NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)


# ----------------------------------------------------------------- a real digest serve


@dataclass
class Served:
    project: Path
    port: int
    process: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def member_id(self, email: str) -> int:
        with sqlite3.connect(self.project / "var" / "digest.db") as connection:
            row = connection.execute("SELECT id FROM subscribers WHERE email = ?",
                                     (email,)).fetchone()
        assert row is not None, email
        return int(row[0])

    def token(self, email: str, purpose: str) -> str:
        return make_token(SECRET.encode(), self.member_id(email), purpose)  # type: ignore[arg-type]

    def status(self, email: str) -> str:
        with sqlite3.connect(self.project / "var" / "digest.db") as connection:
            row = connection.execute("SELECT status FROM subscribers WHERE email = ?",
                                     (email,)).fetchone()
        return str(row[0])

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then the exit code and everything it wrote to stderr."""
        self.process.send_signal(signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return self.process.returncode, err


def _environment(secret: str | None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    if secret:
        environment["DIGEST_SECRET_KEY"] = secret
    return environment


def _new_project(folder: Path) -> Path:
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "schedules.yaml", folder / "schedules.yaml")
    shutil.copytree(ROOT / "sample", folder / "sample")
    return folder


def start_serve(project: Path, port: int, secret: str | None = SECRET) -> Served:
    config = project / "schedules.yaml"
    config.write_text(re.sub(r"port: \d+", f"port: {port}", config.read_text()))
    process = subprocess.Popen([sys.executable, "-m", "digest", "--now", SAMPLE_NOW, "serve"],
                               cwd=project, env=_environment(secret), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    served = Served(project, port, process)

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"digest serve ended: {process.communicate()}")
        try:
            return httpx.get(f"{served.url}/", timeout=10).status_code == 200
        except httpx.TransportError:
            return False

    assert wait_for(up, 120)
    return served


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The sample site after one run (an edition, bulletins, feeds, the outbox), served."""
    project = _new_project(tmp_path_factory.mktemp("site"))
    approve_sample_bulletin(project)
    made = run_digest(project, "run", "--once", env={"DIGEST_SECRET_KEY": SECRET})
    assert made.returncode == 0, made.stderr
    for address in ("bounced@example.org", "later-gone@example.org"):
        added = run_digest(project, "subscribers", "add", address, "--digests", "weekly",
                           env={"DIGEST_SECRET_KEY": SECRET})
        assert added.returncode == 0, added.stderr
    served = start_serve(project, free_port())
    yield served
    code, err = served.stop()
    assert code == 0, err
    assert "Traceback" not in err, err


def closed_by_server(connection: socket.socket, trickle: list[bytes],
                     limit: float = 90) -> bool:
    """Send ``trickle`` one piece a second; True once the server closed the connection."""
    deadline = time.monotonic() + limit
    pieces = iter(trickle)
    while time.monotonic() < deadline:
        readable, _, _ = select.select([connection], [], [], 1.0)
        if readable:
            try:
                if connection.recv(65536) == b"":
                    return True
            except ConnectionError:
                return True
            continue  # an answer (408...) before the close: keep reading
        piece = next(pieces, b"")
        try:
            if piece:
                connection.sendall(piece)
        except (BrokenPipeError, ConnectionError):
            return True
    return False


# ------------------------------------------------- 1. paths: confined, never served


@pytest.mark.parametrize(("key", "old", "new"), [
    ("feeds.path", "feeds: {every: 15m, entries: 50}", "feeds: {path: .}"),
    ("feeds.path", "feeds: {every: 15m, entries: 50}", "feeds: {path: ./}"),
    ("feeds.path", "feeds: {every: 15m, entries: 50}", "feeds: {path: var}"),
    ("feeds.path", "feeds: {every: 15m, entries: 50}", "feeds: {path: var/feeds}"),
    ("feeds.path", "feeds: {every: 15m, entries: 50}", "feeds: {path: out}"),
    ("feeds.path", "feeds: {every: 15m, entries: 50}", "feeds: {path: out/outbox}"),
    ("feeds.path", "feeds: {every: 15m, entries: 50}", "feeds: {path: feeds/../out}"),
    ("feeds.path", "feeds: {every: 15m, entries: 50}", "feeds: {path: ../../escaped}"),
    ("feeds.path", "feeds: {every: 15m, entries: 50}", "feeds: {path: /tmp}"),
    ("feeds.path", "feeds: {every: 15m, entries: 50}", "feeds: {path: linked}"),
    ("site.database", "sqlite:///var/digest.db", "sqlite:///../escaped.db"),
    ("site.database", "sqlite:///var/digest.db", "sqlite:///feeds/digest.db"),
    ("site.database", "sqlite:///var/digest.db", "sqlite:///out/editions/digest.db"),
    ("bulletins.path", "bulletins: {path: sample/bulletins", "bulletins: {path: var"),
    ("subscribers.import", "import: sample/subscribers.csv", "import: feeds/members.csv"),
])
def test_an_output_path_outside_the_root_or_over_a_private_folder_is_refused(
        project: Path, key: str, old: str, new: str) -> None:
    (project / "var").mkdir()
    (project / "feeds").mkdir()
    (project / "feeds" / "members.csv").write_text("email\nx@example.org\n")
    (project / "linked").symlink_to(project / "var")  # a link in the root that leads to var/
    config = project / "schedules.yaml"
    assert old in config.read_text()
    config.write_text(config.read_text().replace(old, new))
    before = sorted(p.name for p in project.parent.iterdir())
    result = run_digest(project, "run", "--once", env={"DIGEST_SECRET_KEY": SECRET})
    assert result.returncode == 2, result.stderr
    line = next(line for line in result.stderr.splitlines() if f" {key}: " in line)
    assert re.match(r"\s+schedules\.yaml:\d+: ", line), line  # FILE:LINE: key: message
    assert "Traceback" not in result.stderr
    assert not (project / "out").exists() and list((project / "var").iterdir()) == []
    assert sorted(p.name for p in project.parent.iterdir()) == before  # nothing outside


@pytest.mark.parametrize("folder", ["editions", "bulletins", "outbox"])
@pytest.mark.parametrize("target", ["../../elsewhere", "../feeds/mail"])
def test_a_folder_of_out_linked_out_of_it_is_refused(project: Path, folder: str,
                                                     target: str) -> None:
    """A link out of ``out/`` writes there (outside the root, or the outbox's messages into
    the served feeds): refused like a link for ``out/`` itself, before anything is written."""
    (project / "out").mkdir()
    (project / "feeds" / "mail").mkdir(parents=True)
    (project.parent / "elsewhere").mkdir(exist_ok=True)
    (project / "out" / folder).symlink_to(target)
    result = run_digest(project, "run", "--once", env={"DIGEST_SECRET_KEY": SECRET})
    assert result.returncode == 2, result.stdout + result.stderr
    assert re.search(rf"schedules\.yaml:\d+: site\.output: {project}/out/{folder} leads to "
                     rf"\S+, outside {project}/out; it must be a folder inside it",
                     result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    assert list((project / "out" / folder).iterdir()) == [], "nothing written through it"
    assert not (project / "var").exists()


def test_a_database_url_in_a_served_folder_is_refused(project: Path) -> None:
    result = run_digest(project, "status", env={
        "DIGEST_SECRET_KEY": SECRET, "DIGEST_DATABASE_URL": f"sqlite:///{project}/feeds/d.db"})
    assert result.returncode == 2 and "DIGEST_DATABASE_URL" in result.stderr
    assert not (project / "feeds").exists()


@pytest.fixture
def leaky_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A site whose settings (made without the config's checks) would serve the whole
    output root as the feeds: only the guard in the web app stands in the way."""
    settings = Settings.model_validate({
        "site": {"title": "Forum", "base_url": BASE_URL, "output": str(tmp_path),
                 "sender": {"name": "Forum", "address": "forum@example.org"}},
        "feeds": {"path": "."},
        "subscribers": {"import": "members.csv"},
        "config_path": str(tmp_path / "schedules.yaml"),
    })
    ctx = Context(settings=settings, env=Environment(None, None, None, SECRET, None),
                  clock=ManualClock(NOW))
    with ctx.db.transaction() as connection:
        subscribers.count(connection)  # creates var/digest.db (and its -wal, -shm)
    (tmp_path / "var" / "secret_key").write_text("the signing key\n")
    (tmp_path / "out" / "outbox").mkdir(parents=True)
    (tmp_path / "out" / "outbox" / "m.eml").write_text("To: anna.kowalska@example.org\n")
    (tmp_path / "out" / "editions" / "weekly" / "1").mkdir(parents=True)
    (tmp_path / "out" / "editions" / "weekly" / "1" / "index.html").write_text("<p>v1</p>")
    (tmp_path / "schedules.yaml").write_text("site: {}\n")
    (tmp_path / "members.csv").write_text("email\nanna.kowalska@example.org\n")
    (tmp_path / "all.atom").write_text("<feed/>")
    (tmp_path / ".hidden").write_text("temporary")
    (tmp_path / "to-var").symlink_to(tmp_path / "var")
    (tmp_path / "key-link.txt").symlink_to(tmp_path / "var" / "secret_key")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside the root")
    (tmp_path / "escape").symlink_to(outside)
    with serving(ctx) as url:
        yield url, tmp_path


@pytest.mark.parametrize("path", [
    "/feeds/var/secret_key", "/feeds/var/digest.db", "/feeds/var/digest.db-wal",
    "/feeds/var/digest.db-shm", "/feeds/var/", "/feeds/out/outbox/m.eml",
    "/feeds/out/outbox/", "/feeds/schedules.yaml", "/feeds/members.csv", "/feeds/.hidden",
    "/feeds/to-var/secret_key", "/feeds/key-link.txt", "/feeds/escape/secret.txt",
    "/feeds/%2e%2e/var/secret_key", "/feeds/..%2fvar%2fsecret_key",
    "/feeds/var%2fsecret_key", "/feeds/./var/secret_key", "/feeds//var/secret_key",
    "/editions/../../var/secret_key", "/editions/%2e%2e/%2e%2e/var/secret_key",
    "/editions/..%2f..%2fout%2foutbox%2fm.eml", "/digest/feeds/var/secret_key",
    "/digest/feeds/out/outbox/m.eml", "/feeds/var/secret_key%00.atom",
])
def test_private_files_are_never_served_whatever_the_config(
        leaky_site: tuple[str, Path], path: str) -> None:
    base, _ = leaky_site
    assert httpx.get(f"{base}/feeds/all.atom").text == "<feed/>"  # the guard lets feeds by
    assert httpx.get(f"{base}/editions/weekly/1/").text == "<p>v1</p>"
    port = int(urlsplit(base).port or 0)
    answer = raw_exchange(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                          .encode())
    status = answer.split(b"\r\n", 1)[0]
    assert status.split()[1] in (b"400", b"404"), (path, status)
    for secret in (b"the signing key", b"anna.kowalska@example.org", b"SQLite format",
                   b"outside the root", b"temporary"):
        assert secret not in answer, (path, secret)


# ------------------------------------------------- 2. bodies and time are bounded


def test_a_huge_declared_body_is_refused_before_it_is_read(site: Served) -> None:
    before = site.rss_kb()
    for target in ("/u/anything", f"/u/{site.token('anna.kowalska@example.org', 'unsubscribe')}",
                   f"/p/{site.token('anna.kowalska@example.org', 'preferences')}"):
        answer = raw_exchange(site.port, (
            f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: "
            "application/x-www-form-urlencoded\r\nContent-Length: 314572800\r\n\r\n").encode()
            + b"a" * 65536)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert site.status("anna.kowalska@example.org") == "active"
    assert site.rss_kb() - before < 20_000


@pytest.mark.parametrize("route", ["u", "p", "bad token"])
def test_a_huge_chunked_body_is_cut_off_without_being_kept(site: Served, route: str) -> None:
    """Over the limit, or answered (a bad token) before the body is read: the server
    closes the connection instead of receiving the rest."""
    purpose = "unsubscribe" if route == "u" else "preferences"
    target = f"/{route}/{site.token('jan.devries@example.org', purpose)}" \
        if route != "bad token" else "/u/1.AAAA"
    before = site.rss_kb()
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b"a" * (1 << 20))  # 1 MB chunks, up to 300 MB
    sent = 0
    with socket.create_connection(("127.0.0.1", site.port), timeout=60) as connection:
        connection.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: "
                           "application/x-www-form-urlencoded\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n".encode())
        try:
            for _ in range(300):
                connection.sendall(chunk)
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while part := connection.recv(65536):
                answer += part
        except ConnectionResetError:
            pass
    assert sent < 300, "the server read the whole 300 MB"
    assert answer == b"" or answer.startswith((b"HTTP/1.1 413", b"HTTP/1.1 404")), answer[:200]
    assert site.status("jan.devries@example.org") == "active"
    assert site.rss_kb() - before < 20_000


def test_a_body_over_the_limit_is_refused_and_one_under_it_works(site: Served) -> None:
    url = f"{site.url}/p/{site.token('zoe.mueller@example.com', 'preferences')}"
    too_big = httpx.post(url, data={"language": "en", "padding": "x" * 70_000})
    assert too_big.status_code == 413
    fine = httpx.post(url, data={"language": "en", "padding": "x" * 60_000})
    assert fine.status_code == 200


@pytest.mark.parametrize("size", [17_000, 2_000_000])
def test_oversized_headers_are_refused(site: Served, size: int) -> None:
    answer = raw_exchange(site.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
                          + b"a" * size + b"\r\n\r\n")
    assert answer == b"" or answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), answer[:80]
    fine = raw_exchange(site.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        b"X-Fine: " + b"a" * 8000 + b"\r\n\r\n")
    assert fine.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("trickle", [
    [b"GET / HTTP/1.1\r\n"] + [b"X-Slow: %d\r\n" % n for n in range(120)],  # headers
    [b"POST /u/x HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n"] + [b"a"] * 120,  # body
    [b"G"] + [b"E"] * 120,  # not even a request line
    [],  # connects and says nothing
])
def test_a_trickling_client_is_disconnected(site: Served, trickle: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", site.port), timeout=90) as connection:
        assert closed_by_server(connection, trickle)
    assert httpx.get(f"{site.url}/").status_code == 200  # and the server is fine


def test_a_client_that_goes_away_is_one_log_line(tmp_path: Path) -> None:
    served = start_serve(_new_project(tmp_path / "site"), free_port())
    try:
        target = f"/p/{served.token('anna.kowalska@example.org', 'preferences')}"
        with socket.create_connection(("127.0.0.1", served.port), timeout=30) as connection:
            connection.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: "
                               "application/x-www-form-urlencoded\r\n"
                               "Content-Length: 5000\r\n\r\nlanguage=".encode())
            time.sleep(0.5)  # the app is waiting for the rest of the body
        assert wait_for(lambda: httpx.get(f"{served.url}/").status_code == 200, 30)
    finally:
        code, err = served.stop()
    assert code == 0
    assert "Traceback" not in err and "Exception" not in err, err
    lines = [line for line in err.splitlines() if "went away" in line]
    assert len(lines) == 1, err
    assert "/p/…" in lines[0] and target.split("/")[-1] not in err  # no token in the log


# ------------------------------------------------- 3. headers, redirects, links, truth


def test_every_answer_carries_the_security_headers(site: Served) -> None:
    preferences = f"/p/{site.token('anna.kowalska@example.org', 'preferences')}"
    answers = [httpx.get(site.url + path) for path in (
        "/", "/editions/", "/editions/weekly/", "/editions/weekly/1/", "/feeds/all.atom",
        "/bulletins/", "/nowhere", "/u/bad", preferences, "/editions/weekly/1/digest.pdf")]
    answers.append(httpx.post(f"{site.url}/u/bad", content=b"x" * 70_000))
    assert {a.status_code for a in answers} >= {200, 404, 413}
    for answer in answers:
        csp = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, answer.url
        assert "script-src" not in csp  # no script may run, inline or not
        assert answer.headers.get("x-content-type-options") == "nosniff"
        assert answer.headers.get("x-frame-options") == "DENY"
        assert answer.headers.get("referrer-policy") in ("no-referrer",
                                                         "strict-origin-when-cross-origin")
    token_page = answers[8]
    assert token_page.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", [
    "/editions", "/feeds", "/bulletins", "/editions/weekly", "/editions/weekly/1",
    "/digest/editions/weekly/1", "/digest/editions", "/feeds/?x=1", "/editions/weekly?x=1",
    "/u/bad/", "/p/bad/", "//evil.example/", "/digest",
])
def test_no_redirect_trusts_the_host_header(site: Served, path: str) -> None:
    answer = httpx.get(site.url + path, headers={"Host": "evil.example"},
                       follow_redirects=False)
    if answer.is_redirect:
        location = answer.headers["location"]
        assert location.startswith(BASE_URL + "/"), (path, location)
        # the same place under the site's URL, with the query kept
        assert location.removeprefix(BASE_URL).split("?")[0].rstrip("/") == \
            path.removeprefix("/digest").split("?")[0].rstrip("/"), location
    else:
        assert answer.status_code in (200, 404), (path, answer.status_code)
    assert "evil.example" not in answer.text


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src|action)="([^"]+)"', html)


def test_every_link_on_every_page_resolves(site: Served) -> None:
    """Crawl from / (and from the links in the outbox's messages) every page the app serves,
    following every link to the site; none answers 404."""
    seeds = ["/"]
    for message in (site.project / "out" / "outbox").glob("*.eml"):
        parsed = email.message_from_bytes(message.read_bytes(), policy=email.policy.default)
        for part in parsed.walk():
            if part.get_content_maintype() == "text":
                text = str(part.get_content()).replace("&amp;", "&")
                seeds += re.findall(rf"{re.escape(BASE_URL)}[^\s\"<>]*", text)
        seeds += re.findall(rf"<({re.escape(BASE_URL)}[^>]*)>",
                            str(parsed.get("List-Unsubscribe", "")))
    queue, seen, broken = list(seeds), set[str](), list[tuple[str, int]]()
    while queue and len(seen) < 400:
        link = queue.pop()
        path = link.removeprefix(BASE_URL) or "/"
        if path in seen:
            continue
        seen.add(path)
        answer = httpx.get(site.url + path, follow_redirects=False)
        if answer.status_code == 404 or answer.status_code >= 500:
            broken.append((path, answer.status_code))
            continue
        if answer.is_redirect:
            queue.append(answer.headers["location"])
            continue
        if "html" not in answer.headers.get("content-type", ""):
            continue
        for found in _links(answer.text):
            absolute = urljoin(BASE_URL + path, found.replace("&amp;", "&"))
            if absolute.startswith(BASE_URL + "/") or absolute == BASE_URL:
                queue.append(absolute.split("#")[0])
    assert not broken, sorted(broken)
    assert {"/", "/editions/", "/feeds/", "/bulletins/", "/editions/weekly/"} <= seen
    assert any(p.startswith("/u/") for p in seen) and any(p.startswith("/p/") for p in seen)
    assert len(seen) > 20


def test_a_bounced_member_is_told_the_truth(site: Served) -> None:
    database = Database(f"sqlite:///{site.project / 'var' / 'digest.db'}")
    with database.transaction() as connection:
        subscribers.set_status(connection, "bounced@example.org", SubscriberStatus.BOUNCED)
    database.close()
    url = f"{site.url}/p/{site.token('bounced@example.org', 'preferences')}"
    page = httpx.get(url).text
    assert "Subscribe me again" not in page and 'name="subscribe"' not in page
    assert "bounced" in page
    answer = httpx.post(url, data={"language": "fr", "subscribe": "1", "themes": "culture"})
    assert answer.status_code == 200
    assert "Saved." not in answer.text
    assert "pas réabonné" in answer.text  # in the language just chosen
    assert site.status("bounced@example.org") == "bounced"
    # An unsubscribed member who ticks the box is subscribed again, and told so.
    unsubscribed = "francois.lefevre@example.net"
    assert httpx.post(f"{site.url}/u/{site.token(unsubscribed, 'unsubscribe')}").status_code \
        == 200
    again = httpx.post(f"{site.url}/p/{site.token(unsubscribed, 'preferences')}",
                       data={"language": "en", "subscribe": "1"})
    assert "subscribed again" in again.text and site.status(unsubscribed) == "active"


def test_a_deleted_members_link_never_acts_on_a_newer_member(site: Served) -> None:
    gone = "later-gone@example.org"
    old_id = site.member_id(gone)
    old_link = f"{site.url}/u/{site.token(gone, 'unsubscribe')}"
    with sqlite3.connect(site.project / "var" / "digest.db") as connection:
        assert connection.execute("SELECT max(id) FROM subscribers").fetchone()[0] == old_id
        connection.execute("DELETE FROM subscribers WHERE id = ?", (old_id,))  # erasure
    added = run_digest(site.project, "subscribers", "add", "newcomer@example.org",
                       "--digests", "weekly", env={"DIGEST_SECRET_KEY": SECRET})
    assert added.returncode == 0, added.stderr
    assert site.member_id("newcomer@example.org") > old_id
    assert httpx.post(old_link, content=b"List-Unsubscribe=One-Click").status_code == 404
    assert site.status("newcomer@example.org") == "active"


# ------------------------------------------------- 4. digest serve itself (section 5)


@pytest.mark.parametrize("host", ["no-such-host.invalid", "203.0.113.1", "busy"])
def test_serve_checks_its_address_before_any_job_runs(project: Path, host: str) -> None:
    config = project / "schedules.yaml"
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    address = "127.0.0.1" if host == "busy" else host
    config.write_text(config.read_text().replace("web: {host: 127.0.0.1, port: 8040}",
                                                 f"web: {{host: {address}, port: {port}}}"))
    try:
        result = run_digest(project, "serve", env={"DIGEST_SECRET_KEY": SECRET})
    finally:
        blocker.close()
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"digest: cannot serve on {address}:{port}")
    assert "catch-up" not in result.stdout
    assert not (project / "out").exists()  # no edition made, nothing sent


@pytest.mark.parametrize("key", ["x", "short-key", "a" * 31])
def test_a_short_secret_key_is_refused_before_anything_runs(project: Path, key: str) -> None:
    result = run_digest(project, "run", "--once", env={"DIGEST_SECRET_KEY": key})
    assert result.returncode == 2
    assert "DIGEST_SECRET_KEY" in result.stderr and "at least 32" in result.stderr
    assert not (project / "out").exists() and not (project / "var").exists()


def test_private_files_are_owner_only_and_a_readable_key_is_repaired(project: Path) -> None:
    first = run_digest(project, "run", "--once")
    assert first.returncode == 0, first.stderr
    var, outbox = project / "var", project / "out" / "outbox"
    for folder in (var, outbox):
        assert folder.stat().st_mode & 0o777 == 0o700, folder
    for file in (var / "digest.db", var / "secret_key", *outbox.glob("*.eml")):
        assert file.stat().st_mode & 0o077 == 0, file
    assert any(outbox.glob("*.eml"))
    (var / "secret_key").chmod(0o644)
    served = start_serve(project, free_port(), secret=None)  # reads the key file at start
    assert (var / "secret_key").stat().st_mode & 0o777 == 0o600
    code, err = served.stop()
    assert code == 0 and "Traceback" not in err
    assert len([line for line in err.splitlines() if "readable by others" in line]) == 1


def test_the_policy_breaks_no_page_in_a_real_browser(site: Served) -> None:
    """Headless Chromium loads each kind of page under the policy: no violation is
    reported and the pages' own inline styles apply."""
    from tests.external_tools import CHROMIUM_ARGS, chromium_path

    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    paths = ["/", "/editions/", "/editions/weekly/", "/editions/weekly/1/", "/bulletins/",
             "/feeds/", f"/p/{site.token('anna.kowalska@example.org', 'preferences')}",
             f"/u/{site.token('anna.kowalska@example.org', 'unsubscribe')}", "/u/bad"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.add_init_script("window.__violations = [];document.addEventListener("
                                 "'securitypolicyviolation', e => window.__violations.push("
                                 "e.violatedDirective + ' ' + e.blockedURI));")
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            for path in paths:
                answer = page.goto(site.url + path)
                assert answer is not None and answer.headers.get(
                    "content-security-policy"), path
                assert page.evaluate("window.__violations") == [], path
                styled = page.evaluate("getComputedStyle(document.body).fontFamily")
                assert "Times" not in styled, (path, styled)  # the inline <style> applied
        finally:
            browser.close()
    assert not [line for line in console if "Content Security Policy" in line], console


def test_member_ids_are_never_given_again_on_either_store(db: Database) -> None:
    """After the newest member is deleted, the next one gets a new id (SQLite and
    PostgreSQL), so a signed link can only ever name the member it was made for."""
    from sqlalchemy import delete, select

    from digest.models import Subscriber
    from digest.store.schema import subscribers as table

    def add(address: str) -> int:
        with db.transaction() as connection:
            subscribers.add(connection, Subscriber(email=address, name="", language="en",
                                                   digests=("weekly",)), NOW)
            found = connection.execute(select(table.c.id).where(table.c.email == address))
            return int(found.scalar_one())

    add("first@example.org")
    newest = add("second@example.org")
    with db.transaction() as connection:
        connection.execute(delete(table).where(table.c.id == newest))
    assert add("third@example.org") > newest


def test_an_sqlite_store_whose_ids_could_be_reused_is_refused(project: Path) -> None:
    """A database made before ids were AUTOINCREMENT is refused with the store's message
    for older schemas (exit 2, one line), not used with reusable ids; `digest db upgrade`
    cannot complete it either (tests/test_migrations.py)."""
    Database(f"sqlite:///{project / 'var' / 'digest.db'}").close()
    with sqlite3.connect(project / "var" / "digest.db") as connection:
        (made,) = connection.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'subscribers'").fetchone()
        assert "AUTOINCREMENT" in made
        connection.execute("DROP TABLE subscribers")
        connection.execute(made.replace("AUTOINCREMENT", ""))
        connection.execute("DROP TABLE alembic_version")  # as made before migrations
    result = run_digest(project, "status")
    assert result.returncode == 2
    assert "made before migrations" in result.stderr
    assert "subscribers.id AUTOINCREMENT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
