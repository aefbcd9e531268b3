"""Inputs a reviewer tried that belong to issue 9's classes but not to its examples: each
gives one located line and exit 2 (or is left out and reported), and nothing else stops."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import approve_sample_bulletin, run_digest
from tests.test_web_safety import Served, site  # noqa: F401 (the served sample site)

BULLETIN = """---
title: Updates
forum: Social Affairs Forum
group: WG Smart Social Inclusion
date: {date}
{extra}---
Intro.

## 1. News

{body}
"""


@pytest.mark.parametrize(("field", "value"), [
    ("site.title", "Forum\\x01"),
    ("site.title", "Forum\\x0b"),
    ("site.title", "Forum\\u202e"),
    ("themes.cooperation.title", "Co\\x07operation"),
])
def test_a_control_character_in_the_config_is_refused_at_its_line(
        project: Path, field: str, value: str) -> None:
    config = project / "schedules.yaml"
    text = config.read_text()
    if field == "site.title":
        text = text.replace("title: EUROCITIES Social Affairs Forum",
                            f'title: "{value}"', 1)
    else:
        text = text.replace("cooperation: {title: {en: Cooperation, fr: Coopération, de: "
                            "Zusammenarbeit}}", f'cooperation: {{title: "{value}"}}', 1)
    assert text != config.read_text(), "the sample config changed: update this test"
    config.write_text(text)
    result = run_digest(project, "run", "--once")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"{field}: holds the character U+" in result.stderr
    assert "schedules.yaml:" in result.stderr
    assert not (project / "out").exists(), "nothing runs on a refused config"


@pytest.mark.parametrize(("date", "extra", "body", "where"), [
    ("2019-03-25", "", "A \x01 in the body.", "(file): holds the character U+0001"),
    ("2019-03-25", 'place: "Glas\x0bgow"\n', "Fine.", "(file): holds the character U+000B"),
    ("2019-03-25", "", "Over\u202eridden.", "(file): holds the character U+202E"),
    ("0001-01-01", "", "Fine.", "date: expected a date in the years 1900-2199"),
    ("9999-12-31", "", "Fine.", "date: expected a date in the years 1900-2199"),
    ("2019-03-25", "send_at: 9999-12-31T23:59:59-12:00\n", "Fine.",
     "send_at: expected a time in the years 1900-2199"),
    ("2019-03-25", "send_at: 0001-01-01T00:00:00+01:00\n", "Fine.",
     "send_at: expected a time in the years 1900-2199"),
])
def test_a_bad_bulletin_is_located_and_skipped_and_the_rest_goes_out(
        project: Path, date: str, extra: str, body: str, where: str) -> None:
    bad = project / "sample" / "bulletins" / "bad.md"
    bad.write_text(BULLETIN.format(date=date, extra=extra, body=body), encoding="utf-8")
    preview = run_digest(project, "preview", str(bad.relative_to(project)))
    assert preview.returncode == 2, preview.stdout + preview.stderr
    assert "Traceback" not in preview.stderr
    assert where in preview.stderr and "bad.md:" in preview.stderr
    approve_sample_bulletin(project)
    run = run_digest(project, "run", "--once")
    assert "Traceback" not in run.stderr + run.stdout
    assert run.returncode == 1, run.stdout + run.stderr
    assert "bad.md" in run.stdout and where in run.stdout
    assert "edition weekly/1" in run.stdout
    assert "edition bulletin:2019-03-wg-smart-social-inclusion/1" in run.stdout
    assert "messages sent: 0" not in run.stdout
    assert (project / "feeds" / "bulletins.atom").is_file()


def test_a_strangers_form_is_never_read(site: Served) -> None:  # noqa: F811
    """POST /p/<bad token> answers 404 before the body is parsed, whatever it holds; a
    member's form with more fields than any preferences form changes nothing."""
    many = {f"f{n}": "x" for n in range(150)}
    assert httpx.post(f"{site.url}/p/not-a-token", data=many).status_code == 404
    files = {"upload": ("a.txt", b"x" * 1000, "text/plain")}
    assert httpx.post(f"{site.url}/p/not-a-token", files=files).status_code == 404
    member = "anna.kowalska@example.org"
    url = f"{site.url}/p/{site.token(member, 'preferences')}"
    answer = httpx.post(url, data={**many, "language": "fr"})
    assert answer.status_code == 400 and "text/html" in answer.headers["content-type"]
    assert answer.headers.get("content-security-policy")
    assert 'lang="en"' in answer.text  # nothing was saved: still the member's English


@pytest.mark.parametrize(("columns", "rows"), [(500, 3), (13, 2), (10, 70)])
def test_a_table_too_wide_or_too_big_for_a_page_is_refused_at_its_line(
        project: Path, columns: int, rows: int) -> None:
    table = ("|" + "a|" * columns + "\n" + "|" + "-|" * columns + "\n"
             + ("|" + "x|" * columns + "\n") * rows)
    bad = project / "sample" / "bulletins" / "bad.md"
    bad.write_text(BULLETIN.format(date="2019-03-25", extra="", body=table))
    preview = run_digest(project, "preview", str(bad.relative_to(project)))
    assert preview.returncode == 2, preview.stdout + preview.stderr
    assert "bad.md:11: (body): a table of more than 12 columns or 600 cells" in preview.stderr


def test_a_table_a_reader_can_use_is_kept(project: Path) -> None:
    table = "| city | date |\n|---|---|\n| Glasgow | 27 March |\n"
    good = project / "sample" / "bulletins" / "good.md"
    good.write_text(BULLETIN.format(date="2019-03-25", extra="", body=table))
    preview = run_digest(project, "preview", str(good.relative_to(project)), "--format",
                         "html")
    assert preview.returncode in (0, 1), preview.stderr
    assert "<table" in preview.stdout and "Glasgow" in preview.stdout


def test_a_published_folder_not_written_yet_is_a_404_not_a_500(tmp_path: Path) -> None:
    """A new site serves before its first run: /feeds/, /editions/x/ and /bulletins/y are
    not found, never a server error."""
    from starlette.testclient import TestClient

    from digest.config import Environment, Settings
    from digest.jobs.context import Context
    from digest.testing import ManualClock
    from digest.web.app import create_app
    from tests.test_web_safety import SECRET

    settings = Settings.model_validate({
        "site": {"title": "Forum", "base_url": "https://forum.example.org/digest",
                 "sender": {"name": "Forum", "address": "forum@example.org"},
                 "output": str(tmp_path)},
        "config_path": str(tmp_path / "schedules.yaml")})
    from datetime import UTC, datetime

    ctx = Context(settings=settings, env=Environment(None, None, None, SECRET, None),
                  clock=ManualClock(datetime(2019, 3, 18, tzinfo=UTC)))
    try:
        client = TestClient(create_app(ctx), raise_server_exceptions=False)
        for path in ("/feeds/", "/feeds/all.atom", "/editions/weekly/", "/bulletins/x/"):
            assert client.get(path).status_code == 404, path
    finally:
        ctx.close()


def test_a_server_error_page_carries_the_security_headers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette answers an unexpected exception with its own 500 page: that page, too, must
    forbid framing, sniffing and scripts."""
    from datetime import UTC, datetime

    from starlette.testclient import TestClient

    from digest.config import Environment
    from digest.jobs.context import Context
    from digest.testing import ManualClock, build_settings
    from digest.web import pages
    from digest.web.app import create_app
    from digest.web.headers import SECURITY_HEADERS
    from tests.test_web_safety import SECRET

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("a bug in a page")

    monkeypatch.setattr(pages, "index", broken)
    ctx = Context(settings=build_settings(tmp_path, site={"output": str(tmp_path)}),
                  env=Environment(None, None, None, SECRET, None),
                  clock=ManualClock(datetime(2019, 3, 18, tzinfo=UTC)))
    try:
        answer = TestClient(create_app(ctx), raise_server_exceptions=False).get("/")
    finally:
        ctx.close()
    assert answer.status_code == 500
    for name, value in SECURITY_HEADERS:
        if name == b"referrer-policy":  # the error page's own, stricter: its URL may hold a token
            assert answer.headers.get("referrer-policy") == "no-referrer"
            continue
        assert answer.headers.get(name.decode()) == value.decode(), name
    assert "a bug in a page" not in answer.text
    assert '<html lang="en">' in answer.text and "<main" in answer.text  # a page
