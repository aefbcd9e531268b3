"""A bulletin's images must load (issue 11, section 3: "images that cannot be fetched"
hold it): each is probed with one small ranged GET against a real local HTTP server; an
error status, an answer that is not an image, a host that cannot be found or is not
public, or no answer in time is an error at the image's line; each probe and all of a
bulletin's are bounded in time, and answers are kept a while per address."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from digest.bulletins import load_bulletin
from digest.config import Environment, load_settings
from digest.jobs import images
from digest.jobs.context import Context
from digest.jobs.images import ImageChecks
from digest.jobs.run import run_once
from digest.testing import ManualClock
from tests.conftest import SAMPLE_NOW
from tests.feed_server import FeedServer, Handler, feed_server, redirect, sleep_then, status
from tests.support import make_settings

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
FRONT = """---
title: A bulletin with pictures
forum: EUROCITIES Social Affairs Forum
group: WG Smart Social Inclusion
date: 2019-03-25
footer: "Funded by EaSI, see [the programme](https://ec.europa.eu/social/easi)"
---

Intro.

## Pictures

"""


def _loopback_allowed(url: str) -> str | None:
    return None  # the local test server is on 127.0.0.1, which the real check refuses


def _image(handler: Handler) -> None:
    handler.send_plain(200, PNG, "image/png")


def _no_type(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(PNG)))
    handler.end_headers()
    handler.wfile.write(PNG)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


def _bulletin(tmp_path: Path, *urls: str) -> Path:
    path = tmp_path / "pictures.md"
    path.write_text(FRONT + "\n\n".join(f"![Picture {n}]({url})"
                                        for n, url in enumerate(urls)) + "\n")
    return path


def _problems(path: Path, checks: ImageChecks) -> list[tuple[int, str, str]]:
    found = checks.problems(load_bulletin(path, make_settings()), make_settings())
    return [(int(p.location.rsplit(":", 1)[1]), p.severity, p.message) for p in found]


def test_each_kind_of_answer(server: FeedServer, tmp_path: Path) -> None:
    good = server.route("/good.png", _image)
    missing = server.route("/missing.png", status(404))
    page = server.route("/page.png", lambda h: h.send_plain(200, b"<html>", "text/html"))
    untyped = server.route("/untyped.png", _no_type)
    moved = server.route("/moved.png", redirect(302, "/good.png"))
    broken = server.route("/broken.png", status(500))
    path = _bulletin(tmp_path, good, missing, page, untyped, moved, broken)
    found = _problems(path, ImageChecks(check_address=_loopback_allowed))
    assert [(line, severity) for line, severity, _ in found] == [
        (15, "error"), (17, "error"), (19, "warning"), (23, "error")]
    assert "HTTP 404" in found[0][2] and missing in found[0][2]
    assert "not an image" in found[1][2] and "text/html" in found[1][2]
    assert "Content-Type" in found[2][2]
    assert "HTTP 500" in found[3][2]
    # One small ranged GET each: no image is downloaded to check it.
    assert all(seen.headers.get("Range") == "bytes=0-0" for seen in server.requests)


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/x.png", "http://127.0.0.1:{port}/good.png", "http://[::1]/x.png",
    "http://169.254.169.254/latest/meta-data", "http://localhost:{port}/good.png",
    "http://192.168.1.10/x.png", "http://0.0.0.0:{port}/good.png",
])
def test_a_private_address_is_refused_without_being_asked(
        server: FeedServer, tmp_path: Path, url: str) -> None:
    server.route("/good.png", _image)
    address = url.format(port=server.server_address[1])
    found = _problems(_bulletin(tmp_path, address), ImageChecks())
    assert len(found) == 1 and found[0][1] == "error"
    assert "not a public address" in found[0][2]
    assert server.requests == [], "nothing was fetched from it"


def test_a_host_that_cannot_be_found_holds(tmp_path: Path) -> None:
    found = _problems(_bulletin(tmp_path, "https://nonexistent.invalid/photo.png"),
                      ImageChecks())
    assert [(severity, "cannot be found" in message) for _, severity, message in found] == [
        ("error", True)]


def test_a_redirect_to_a_refused_address_is_not_followed(server: FeedServer,
                                                          tmp_path: Path) -> None:
    port = server.server_address[1]
    server.route("/inside.png", _image)
    hop = server.route("/hop.png", redirect(302, f"http://localhost:{port}/inside.png"))
    checks = ImageChecks(check_address=lambda url: None if "127.0.0.1" in url else "refused")
    found = _problems(_bulletin(tmp_path, hop), checks)
    assert len(found) == 1 and "localhost" in found[0][2] and "refused" in found[0][2]
    assert server.asked("/inside.png") == []


def test_slow_hosts_are_bounded_per_image_and_per_bulletin(server: FeedServer,
                                                           tmp_path: Path) -> None:
    slow = [server.route(f"/slow{n}.png", sleep_then(5, _image)) for n in range(4)]
    checks = ImageChecks(check_address=_loopback_allowed, probe_seconds=0.5,
                         total_seconds=1.2)
    started = time.monotonic()
    found = _problems(_bulletin(tmp_path, *slow), checks)
    assert time.monotonic() - started < 3
    assert [severity for _, severity, _ in found] == ["error"] * 4
    assert "timed out" in found[0][2] or "deadline" in found[0][2]
    assert "was not checked" in found[-1][2]


def test_answers_are_kept_a_while_per_address(server: FeedServer, tmp_path: Path) -> None:
    now = [1000.0]
    good = server.route("/good.png", _image)
    gone = server.route("/gone.png", status(404))
    checks = ImageChecks(check_address=_loopback_allowed, monotonic=lambda: now[0])
    path = _bulletin(tmp_path, good, gone)
    first = _problems(path, checks)
    assert _problems(path, checks) == first  # a preview refresh, then the run
    assert len(server.asked("/good.png")) == len(server.asked("/gone.png")) == 1
    server.route("/gone.png", _image)  # the host is back
    now[0] += checks.keep_failed_seconds + 1
    assert _problems(path, checks) == []
    assert len(server.asked("/good.png")) == 1 and len(server.asked("/gone.png")) == 2
    now[0] += checks.keep_seconds + 1
    _problems(path, checks)
    assert len(server.asked("/good.png")) == 2


def test_a_run_holds_a_bulletin_whose_image_is_down_and_says_why(
        project: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "CHECKS", ImageChecks(check_address=_loopback_allowed))
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace(
        "bulletins: {path: sample/bulletins, audience: weekly}",
        "bulletins: {path: sample/bulletins, audience: weekly, approval: false}"))
    (project / "sample" / "bulletins" / "2019-03-wg-smart-social-inclusion.md").unlink()
    photo = server.route("/photo.png", status(503))
    _bulletin(project / "sample" / "bulletins", photo)
    ctx = Context(settings=load_settings(config),
                  env=Environment.read({"DIGEST_SECRET_KEY": "s" * 64}),
                  clock=ManualClock(datetime.fromisoformat(SAMPLE_NOW)))
    report = run_once(ctx)
    said = "\n".join(report.notes)
    assert "bulletin:pictures" in said and photo in said and "HTTP 503" in said
    assert not (ctx.settings.out_dir / "bulletins" / "pictures").exists()
    assert not any("pictures" in p.name for p in (ctx.settings.out_dir / "outbox").glob("*"))
    server.route("/photo.png", _image)  # back up: the next run (a minute on) sends it
    monkeypatch.setattr(images, "CHECKS", ImageChecks(check_address=_loopback_allowed))
    report = run_once(ctx)
    assert (ctx.settings.out_dir / "bulletins" / "pictures" / "index.html").is_file()
    assert any("bulletin:pictures" in line for line in report.editions)
    ctx.close()
