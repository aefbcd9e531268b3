"""The sample as a fresh clone runs it (``make run``): the French member's pages are in
French, and each email's unsubscribe link stops the digest it came with (a bulletin's: the
digest whose followers receive bulletins), through the real command and a real server."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from digest.config import Environment, load_settings
from digest.jobs.context import Context
from digest.models import SubscriberStatus
from digest.store import subscribers
from digest.testing import ManualClock
from tests.conftest import ROOT, SAMPLE_NOW, approve_sample_bulletin, run_digest
from tests.web_app_server import serving

SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
ENV = {"DIGEST_SECRET_KEY": SECRET}
BASE = "https://forum.example.org/digest"
FRANCOIS = "francois.lefevre@example.net"


@pytest.fixture
def sent(project: Path) -> Path:
    """The sample after ``make run``, with the bulletin approved so it goes out too."""
    approve_sample_bulletin(project, env=ENV)
    result = run_digest(project, "run", "--once", env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    return project


@pytest.fixture
def served(sent: Path) -> Iterator[tuple[Context, str]]:
    ctx = Context(settings=load_settings(sent / "schedules.yaml"),
                  env=Environment.read(ENV), clock=ManualClock(datetime.fromisoformat(SAMPLE_NOW)))
    with serving(ctx) as url:
        yield ctx, url


def messages(project: Path) -> list[EmailMessage]:
    found = []
    for path in sorted((project / "out" / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def one_click_url(message: EmailMessage) -> str:
    found = re.match(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    assert found, message["List-Unsubscribe"]
    return found.group(1)


def test_each_email_s_unsubscribe_link_names_the_digest_it_stops(sent: Path) -> None:
    mail = messages(sent)
    bulletins = [m for m in mail if "bulletin-" in str(m["List-Id"])]
    digests = [m for m in mail if "<weekly." in str(m["List-Id"])]
    assert bulletins and digests
    for message in mail:  # the bulletins' audience is weekly in the sample
        url = one_click_url(message)
        assert re.fullmatch(rf"{re.escape(BASE)}/u/\d+\.[\w-]+\?digest=weekly", url), url
        body = message.get_body(("html",))
        assert body is not None
        assert url.replace("&", "&amp;") in body.get_content()  # the footer's link too


def test_the_french_member_s_pages_are_in_french(served: tuple[Context, str]) -> None:
    ctx, url = served
    printed = run_digest(ctx.settings.config_path.parent, "subscribers", "link", FRANCOIS,
                         env=ENV)
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert lines[0] == f"François Lefèvre <{FRANCOIS}> (fr, active): their pages"
    preferences = lines[1].split("preferences: ")[1].replace(BASE, url)
    page = httpx.get(preferences, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    for words in ("Vos préférences", "Enregistrer", "Thèmes", "Langue",
                  "Coopération", "Économie", "Société de la connaissance"):  # theme titles
        assert words in page.text, words
    assert "Knowledge society" not in page.text
    (mail,) = [m for m in messages(ctx.settings.config_path.parent)
               if FRANCOIS in str(m["To"]) and "<weekly." in str(m["List-Id"])]
    leave = one_click_url(mail).replace(BASE, url)
    button = httpx.get(leave)
    assert '<html lang="fr">' in button.text and "Se désabonner" in button.text
    answer = httpx.post(leave, content=b"List-Unsubscribe=One-Click",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200 and '<html lang="fr">' in answer.text
    assert "ne recevra plus aucun digest ni bulletin" in answer.text  # weekly was his only
    with ctx.db.transaction() as c:
        francois = subscribers.by_email(c, FRANCOIS)
        others = [m.status for m in subscribers.all_members(c) if m.email != FRANCOIS]
    assert francois is not None and francois.status is SubscriberStatus.UNSUBSCRIBED
    assert francois.digests == ("weekly",) and set(others) == {SubscriberStatus.ACTIVE}


def test_the_link_command_refuses_an_unknown_address_and_points_local(project: Path) -> None:
    assert run_digest(project, "subscribers", "import", "sample/subscribers.csv").returncode == 0
    unknown = run_digest(project, "subscribers", "link", "nobody@example.org")
    assert unknown.returncode == 2 and "no subscriber 'nobody@example.org'" in unknown.stderr
    local = run_digest(project, "subscribers", "link", FRANCOIS, "--local")
    assert local.returncode == 0
    assert re.search(r"preferences: http://127\.0\.0\.1:8040/digest/p/\d+\.", local.stdout)
    assert re.search(r"unsubscribe: http://127\.0\.0\.1:8040/digest/u/\d+\.", local.stdout)


def test_make_run_prints_the_french_member_s_links() -> None:
    """``make run`` (what the README starts with) ends with François Lefèvre's links, for
    ``make console``; its exit code stays the run's."""
    recipe = subprocess.run(["make", "-n", "-B", "run"], cwd=ROOT, capture_output=True,
                            text=True, check=False, timeout=60).stdout
    assert "run --once; status=$?;" in recipe
    assert f"digest subscribers link {FRANCOIS} --local; exit $status" in recipe
