"""What uvicorn and h11 would answer by themselves is the product's error page too
(``digest.web.wire_pages``), tested with raw bytes on a real server: bytes that are not
HTTP, a header line h11 refuses, a missing Host, an unknown transfer coding, headers that
never end, a malformed chunk, a request past the connection limit, an app that fails or
says nothing outside its own error handling. Each is an HTML page (in the language of the
request's ``Accept-Language`` when one can be read, else the site's: English), with its
``Content-Length``, ``no-store``, the security headers, and the connection closed; the log
gets one ``digest:`` line without a token. The pages pass axe (WCAG 2.1 AA)."""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from digest.tokens import make_token
from digest.web.errors import ServerErrors, refusal_page
from digest.web.headers import SecurityHeaders
from digest.web.wire_pages import request_snippet
from tests.test_web_error_pages import SECRET, _context
from tests.web_app_server import raw_exchange, serving

TOKEN = make_token(SECRET.encode(), 7, "unsubscribe")
HEAD = b"Host: x\r\nAccept-Language: fr\r\n"
# (what is sent, status, language, title)
CASES: dict[str, tuple[bytes, int, str, str]] = {
    "garbage": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400, "en",
                "Request not valid"),
    "request line": (b"GET /u/" + TOKEN.encode() + b" HTTP/1.1 extra\r\n" + HEAD + b"\r\n",
                     400, "fr", "Requête non valide"),
    "header name": (b"GET / HTTP/1.1\r\n" + HEAD + b"Bad Header: 1\r\n\r\n", 400, "fr",
                    "Requête non valide"),
    "no host": (b"GET / HTTP/1.1\r\nAccept-Language: de\r\n\r\n", 400, "de",
                "Ungültige Anfrage"),
    "transfer coding": (b"POST /subscribe HTTP/1.1\r\n" + HEAD
                        + b"Transfer-Encoding: gzip\r\n\r\n", 501, "fr", "Requête non valide"),
    "endless headers": (b"GET / HTTP/1.1\r\n" + HEAD + b"X-Long: " + b"a" * 20000, 431, "fr",
                        "Requête trop volumineuse"),
    "bad chunk": (b"POST /subscribe HTTP/1.1\r\n" + HEAD + b"Transfer-Encoding: chunked\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n\r\nzz\r\n", 400, "fr",
                  "Requête non valide"),
}


@pytest.fixture
def port(project: Path) -> Iterator[int]:
    with serving(_context(project)) as url:
        yield urlsplit(url).port or 80


def assert_wire_page(answer: bytes, status: int, language: str, title: str,
                     closes: bool = True) -> str:
    """One whole HTML page with its headers (``Connection: close`` unless the app answered
    a request it may keep the connection for); its text."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), lines[0]
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert headers["content-type"] == "text/html; charset=utf-8", headers
    assert int(headers["content-length"]) == len(body), (headers, len(body))
    assert headers.get("connection") == ("close" if closes else None), headers
    assert headers["cache-control"] == "no-store"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    text = body.decode()
    assert text.startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in text
    assert re.search(rf"<title>{re.escape(title)}\b", text), text[:600]
    assert "<main" in text and "</main>" in text
    assert "Invalid HTTP request" not in text and "Traceback" not in text
    return text


@pytest.mark.parametrize("case", list(CASES))
def test_what_h11_refuses_is_a_page(port: int, case: str,
                                    caplog: pytest.LogCaptureFixture) -> None:
    sent, status, language, title = CASES[case]
    caplog.set_level(logging.INFO)
    answer = raw_exchange(port, sent, limit=5)  # closed by the server, well before 10 s
    assert_wire_page(answer, status, language, title)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
             and r.name == "digest.web" and "not valid HTTP" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert lines[0].startswith(f"digest: answered {status} to a request that is not valid")
    assert TOKEN not in lines[0] and "bytearray" not in lines[0]
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")], "a second line"
    if case == "request line":
        assert "GET /u/..." in lines[0]


def test_the_log_snippet_is_bounded_escaped_and_without_tokens() -> None:
    assert request_snippet(b"GET http://h/p/" + TOKEN.encode() + b"/erase?e=a@b.org "
                           b"HTTP/1.1\r\nCookie: x") == "GET http://h/... HTTP/1.1"
    assert request_snippet(b"POST /?csrf=abc HTTP/1.1") == "POST /?... HTTP/1.1"
    assert request_snippet(b"\x16\x03\x01" + b"\xff" * 300) == "\\x16\\x03\\x01" + "\\xff" * 45


def test_the_http2_preface_and_upgrades_are_answered_as_http(
        port: int, caplog: pytest.LogCaptureFixture) -> None:
    """HTTP/2 with prior knowledge: its ``PRI *`` is a request no route has (the 404 page),
    its ``SM`` line not HTTP (the 400 page); an upgrade (WebSocket, h2c) is not made: the
    page is answered as for any request, without uvicorn's advice to install a library."""
    caplog.set_level(logging.INFO)
    answer = raw_exchange(port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", limit=5)
    first, _, rest = answer.partition(b"</html>\n")
    assert_wire_page(first + b"</html>\n", 404, "en", "Page not found", closes=False)
    assert_wire_page(rest, 400, "en", "Request not valid")
    for upgrade in (b"websocket", b"h2c"):
        answer = raw_exchange(port, b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: "
                              b"Upgrade, close\r\nUpgrade: " + upgrade + b"\r\n"
                              b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
                              b"dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", limit=5)
        assert_wire_page(answer, 404, "en", "Page not found")
    assert not [r for r in caplog.records if "pip install" in r.getMessage()]
    assert [r.getMessage() for r in caplog.records if "upgrade" in r.getMessage()] == [
        f"digest: an upgrade request ({name}) was answered as plain HTTP"
        for name in ("websocket", "h2c")]


def test_a_request_past_the_connection_limit_is_a_page(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("digest.web.server.MAX_CONNECTIONS", 2)
    caplog.set_level(logging.INFO)
    with serving(_context(project)) as url:
        port = urlsplit(url).port or 80
        with socket.create_connection(("127.0.0.1", port)):  # holds one of the two
            time.sleep(0.3)
            for method, language, title in (("GET", "de", "Etwas ist schiefgelaufen"),
                                            ("POST", "en", "Something went wrong")):
                answer = raw_exchange(port, f"{method} /subscribe HTTP/1.1\r\nHost: x\r\n"
                                      f"Accept-Language: {language}\r\n"
                                      "Content-Length: 3\r\n\r\n".encode(), limit=5)
                assert_wire_page(answer, 503, language, title)
        time.sleep(0.3)
        assert httpx.get(url + "/").status_code == 200  # below the limit again
    lines = [r.getMessage() for r in caplog.records if "answered 503" in r.getMessage()]
    assert len(lines) == 2 and lines[0].startswith("digest: answered 503: 2 connections")
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")]


async def _failing(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("store at /srv/secret.db is gone")


async def _silent(scope: Scope, receive: Receive, send: Send) -> None:
    return None


@pytest.mark.parametrize("app", [_failing, _silent])
def test_an_app_that_fails_or_says_nothing_outside_its_handling_is_a_page(
        project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        app: Any) -> None:
    """The app failing outside Starlette's handling, or returning without an answer, as
    ``create_app`` wraps it (``errors.ServerErrors``, the one place for both)."""
    monkeypatch.setattr("digest.web.server.create_app",
                        lambda ctx: SecurityHeaders(ServerErrors(app, refusal_page(ctx))))
    caplog.set_level(logging.INFO)
    with serving(_context(project)) as url:
        answer = raw_exchange(urlsplit(url).port or 80, b"GET /u/" + TOKEN.encode()
                              + b" HTTP/1.1\r\nHost: x\r\nAccept-Language: fr\r\n\r\n", limit=5)
    text = assert_wire_page(answer, 500, "fr", "Une erreur s’est produite", closes=False)
    assert "secret.db" not in text and "RuntimeError" not in text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].name == "digest.web", [
        (r.name, r.getMessage()) for r in errors]
    assert errors[0].getMessage().startswith("digest: GET /u/…")
    assert TOKEN not in errors[0].getMessage()


def test_the_wire_pages_pass_axe(browser: Any, port: int) -> None:
    from tests.test_accessibility import axe_violations

    for case in ("garbage", "header name", "endless headers", "transfer coding"):
        sent, status, language, title = CASES[case]
        text = assert_wire_page(raw_exchange(port, sent, limit=5), status, language, title)
        for width in (375, 1024):
            violations = axe_violations(browser, case, width, html=text)
            assert not violations, (case, width, [v["id"] for v in violations])
