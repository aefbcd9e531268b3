"""Every error the web app answers is an HTML page (``digest.web.errors``), tested on a real
server over HTTP: Starlette's own 404 and 405 (an unknown path, a missing published file, a
method a route does not take) and a handler that fails (the store unreadable) are pages in
the visitor's language with a title and a ``main`` landmark, never plain text, a traceback
or the failure's details; the failure is one line in the log. So are the limits' refusals
(a body or headers too large)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from digest.config import Environment, load_settings
from digest.jobs.context import Context
from digest.testing import ManualClock
from digest.tokens import make_token
from tests.conftest import SAMPLE_NOW
from tests.web_app_server import raw_exchange, serving

SECRET = "k3y-for-tests-0123456789abcdefghijklmnopqrstuvwxyz"


def _context(project: Path) -> Context:
    return Context(settings=load_settings(project / "schedules.yaml"),
                   env=Environment.read({"DIGEST_SECRET_KEY": SECRET}),
                   clock=ManualClock(datetime.fromisoformat(SAMPLE_NOW)))


@pytest.fixture
def site(project: Path) -> Iterator[str]:
    with serving(_context(project)) as url:
        yield url


def assert_page(answer: httpx.Response, language: str, title: str) -> None:
    """A whole HTML page in ``language`` titled ``title``, with the security headers."""
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    text = answer.text
    assert text.startswith("<!DOCTYPE html>"), text[:200]
    assert f'<html lang="{language}">' in text
    assert re.search(rf"<title>{re.escape(title)}\b[^<]*</title>", text), text[:600]
    assert "<main" in text and "</main>" in text
    assert answer.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "https://forum.example.org/digest/" in text  # the way back to the front page


@pytest.mark.parametrize(("method", "path", "status", "language", "title"), [
    ("GET", "/nothing-here", 404, "en", "Page not found"),
    ("GET", "/digest/nothing-here", 404, "fr", "Page introuvable"),
    ("GET", "/feeds/missing.atom", 404, "de", "Seite nicht gefunden"),
    ("GET", "/editions/weekly/99/", 404, "en", "Page not found"),
    ("GET", "/editions/%2e%2e/%2e%2e/schedules.yaml", 404, "en", "Page not found"),
    ("PUT", "/", 405, "fr", "Non autorisé"),
    ("DELETE", "/subscribe", 405, "en", "Not allowed"),
    ("TRACE", "/admin/", 405, "en", "Not allowed"),
    ("OPTIONS", "/u/1.x", 405, "de", "Nicht erlaubt"),
    ("POST", "/editions/", 405, "en", "Not allowed"),
    ("PATCH", "/feeds/index.opml", 405, "en", "Not allowed"),
])
def test_starlettes_own_errors_are_pages(site: str, method: str, path: str, status: int,
                                         language: str, title: str) -> None:
    answer = httpx.request(method, site + path, headers={"Accept-Language": language})
    assert answer.status_code == status
    assert_page(answer, language, title)
    if status == 405:
        assert "GET" in answer.headers["allow"] or "POST" in answer.headers["allow"]
    else:  # HEAD: the same answer without its body
        head = httpx.head(site + path, headers={"Accept-Language": language})
        assert head.status_code == 404 and head.content == b""
        assert head.headers["content-type"].startswith("text/html")


def test_a_failing_handler_is_a_page_and_one_log_line(project: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    ctx = _context(project)
    (project / "var").mkdir()
    database = project / "var" / "digest.db"
    database.write_bytes(b"not a database " * 100)  # the store cannot be opened
    token = make_token(SECRET.encode(), 1, "unsubscribe")
    caplog.set_level(logging.INFO)
    with serving(ctx) as url:
        answers = [httpx.get(f"{url}/u/{token}", headers={"Accept-Language": "fr"}),
                   httpx.post(f"{url}/u/{token}", content=b"List-Unsubscribe=One-Click",
                              headers={"Content-Type": "application/x-www-form-urlencoded"}),
                   httpx.get(f"{url}/p/{make_token(SECRET.encode(), 1, 'preferences')}")]
    for answer, language in zip(answers, ("fr", "en", "en"), strict=True):
        assert answer.status_code == 500
        assert_page(answer, language, "Une erreur s’est produite" if language == "fr"
                    else "Something went wrong")
        for secret in ("Traceback", "sqlite", str(database), "StoreError", token, SECRET):
            assert secret not in answer.text, secret
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 3, [r.getMessage() for r in failures]
    for record in failures:
        assert record.name == "digest.web" and record.exc_info is None
        assert "cannot open database" in record.getMessage()
        assert token not in record.getMessage()  # the path's token is not logged


@pytest.mark.parametrize(("request_head", "status", "title"), [
    (b"POST /u/x HTTP/1.1\r\nHost: x\r\nContent-Length: 314572800\r\n", 413, "Anfrage zu groß"),
    (b"POST /subscribe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Type: application/x-www-form-urlencoded\r\n", 413, "Anfrage zu groß"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Many-%d: %s\r\n" % (n, b"a" * 200)
                                                   for n in range(80)), 431, "Anfrage zu groß"),
])
def test_the_limits_refusals_are_pages(site: str, request_head: bytes, status: int,
                                       title: str) -> None:
    body = (b"10000\r\n" + b"a" * 0x10000 + b"\r\n") * 2 if b"chunked" in request_head else b""
    answer = raw_exchange(urlsplit(site).port or 80,
                          request_head + b"Accept-Language: de\r\n\r\n" + body)
    head, _, page = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d" % status), head
    assert b"content-type: text/html; charset=utf-8" in head.lower()
    assert b"connection: close" in head.lower()
    text = page.decode()
    assert text.startswith("<!DOCTYPE html>") and '<html lang="de">' in text
    assert f"<title>{title}" in text and "<main" in text


def test_a_range_that_cannot_be_served_is_a_page(project: Path) -> None:
    """Every published folder's file: a range beyond it is the 416 page with
    ``Content-Range: bytes */SIZE``, a malformed one the 400 page, never plain text; a
    range it has is still served (206), and an ``If-Range`` that does not match sends it
    whole."""
    from digest.jobs.forms import published_folders

    ctx = _context(project)
    files = []
    for name, folder in published_folders(ctx.settings).items():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "probe.atom").write_bytes(b"<feed>" + name.encode() * 50 + b"</feed>")
        files.append((f"/{name}/probe.atom", (folder / "probe.atom").stat().st_size))
    with serving(ctx) as url:
        for path, size in [*files, *((f"/digest{p}", s) for p, s in files[:1])]:
            for method in ("GET", "HEAD"):
                beyond = httpx.request(method, url + path, headers={
                    "Range": "bytes=99999999-", "Accept-Language": "fr"})
                assert beyond.status_code == 416, (method, path)
                assert beyond.headers["content-range"] == f"bytes */{size}"
                assert beyond.headers["content-type"].startswith("text/html")
                if method == "GET":
                    assert_page(beyond, "fr", "Requête non valide")
            for malformed in ("bytes=9-2", "items=0-1", "bytes=x"):
                refused = httpx.get(url + path, headers={"Range": malformed})
                assert refused.status_code == 400, (path, malformed)
                assert_page(refused, "en", "Request not valid")
            part = httpx.get(url + path, headers={"Range": "bytes=0-5"})
            assert part.status_code == 206 and part.content == b"<feed>"
            whole = httpx.get(url + path, headers={"Range": "bytes=99999999-",
                                                   "If-Range": '"not-its-etag"'})
            assert whole.status_code == 200 and len(whole.content) == size


def test_a_body_that_is_not_a_form_is_one_labelled_line_and_one_click_still_works(
        project: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A malformed multipart body (a one-click with a boundary it lacks) on every members'
    form: one ``digest:`` line naming the request without its token, nothing from the
    parser itself; the preferences pages answer the 400 page and change nothing, the
    unsubscribe link still unsubscribes (RFC 8058: one click, never a second try)."""
    from digest.jobs.collect import ensure_subscribers
    from digest.models import RunReport, SubscriberStatus
    from digest.store import subscribers

    ctx = _context(project)
    ensure_subscribers(ctx, RunReport())
    with ctx.db.transaction() as c:
        member = next(m for m in subscribers.active_for(c, "weekly") if m.id is not None)
    member_id = member.id
    assert member_id is not None
    unsubscribe = make_token(SECRET.encode(), member_id, "unsubscribe")
    preferences = make_token(SECRET.encode(), member_id, "preferences")

    def status_of_member() -> SubscriberStatus:
        with ctx.db.transaction() as c:
            found = subscribers.by_id(c, member_id)
        assert found is not None
        return found.status

    caplog.set_level(logging.DEBUG)
    with serving(_context(project)) as url:
        for path, expected in ((f"/p/{preferences}", 400), (f"/p/{preferences}/erase", 400),
                               (f"/u/{unsubscribe}?digest=weekly", 200),
                               (f"/u/{unsubscribe}", 200)):
            caplog.clear()
            answer = httpx.post(url + path, content=b"List-Unsubscribe=One-Click",
                                headers={"Content-Type": "multipart/form-data; boundary=x"})
            assert answer.status_code == expected, path
            assert answer.headers["content-type"].startswith("text/html")
            lines = [r for r in caplog.records if r.levelno >= logging.INFO
                     and not r.name.startswith(("uvicorn", "httpx", "httpcore"))]
            assert len(lines) == 1, [(r.name, r.getMessage()) for r in lines]
            line = lines[0].getMessage()
            assert lines[0].name == "digest.web" and line.startswith("digest: POST /")
            assert "not a readable form" in line
            assert unsubscribe not in line and preferences not in line
            assert not [r for r in caplog.records if "multipart" in r.name]
            if expected == 400:
                assert status_of_member() is SubscriberStatus.ACTIVE, path
    assert status_of_member() is SubscriberStatus.UNSUBSCRIBED
    ctx.close()
