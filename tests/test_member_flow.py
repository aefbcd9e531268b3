"""Issue 12's "done when", as a member and an operator would live it, in Debian's headless
Chromium against the real web app over HTTP, with a real Dovecot holding the bounce mailbox:

- a person subscribes on /subscribe, confirms from the link mailed to them, changes their
  preferences on a page in French, downloads their data and erases it;
- a delivery status notification placed in the IMAP mailbox marks its member bounced, and
  the next edition skips them while the others get it.

Runs are the real ``digest run --once`` (another process, as cron or the service would run
it); the browser waits for elements, downloads and files, never for a fixed time.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import re
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest.config import Environment, load_settings
from digest.jobs.context import Context
from digest.models import SubscriberStatus
from digest.store import subscribers, suppression
from digest.testing import ManualClock
from tests.bounce_messages import dsn
from tests.conftest import SAMPLE_NOW, run_digest
from tests.imap_server import PASSWORD, Dovecot, dovecot  # noqa: F401 (a fixture)
from tests.mail_server import wait_for
from tests.web_app_server import serving

SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
BASE = "https://forum.example.org/digest"
NEWCOMER = "camille.durand@example.org"
ANNA = "anna.kowalska@example.org"
NEXT_MONDAY = "2019-03-25T08:00:00+01:00"


def _mails(project: Path) -> dict[str, EmailMessage]:
    found = {}
    for path in sorted((project / "out" / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found[path.name] = message
    return found


def _to(message: EmailMessage) -> str:
    return str(message["To"].addresses[0].addr_spec).lower()


def _plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


@pytest.fixture
def site(project: Path, dovecot: Dovecot) -> Iterator[tuple[Context, str, dict[str, str]]]:  # noqa: F811
    """The sample with its bounce mailbox on the test's Dovecot, after ``make run``'s run
    (weekly/1 sent to the six sample members), and its web app served."""
    config = project / "schedules.yaml"
    config.write_text(config.read_text() + f"bounces: {{imap: '{dovecot.url}'}}\n")
    env = {"DIGEST_SECRET_KEY": SECRET, "DIGEST_BOUNCES_PASSWORD": PASSWORD}
    first = run_digest(project, "run", "--once", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "bounces: 0 read" in first.stdout
    ctx = Context(settings=load_settings(config), env=Environment.read(env),
                  clock=ManualClock(datetime.fromisoformat(SAMPLE_NOW)))
    with serving(ctx) as url:
        yield ctx, url, env


def test_join_confirm_choose_in_french_download_and_erase(
        browser: Any, site: tuple[Context, str, dict[str, str]]) -> None:
    ctx, url, _ = site
    project = ctx.settings.config_path.parent
    context = browser.new_context(locale="fr-FR", accept_downloads=True,
                                  viewport={"width": 375, "height": 900})
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        # Joining: the page speaks the browser's French; the person picks French mail too.
        page.goto(f"{url}/digest/subscribe")
        assert page.get_attribute("html", "lang") == "fr"
        before = set(_mails(project))
        page.fill("#email", NEWCOMER)
        page.fill("#name", "Camille Durand")
        page.select_option("#language", "fr")
        page.check("input[name=themes][value=culture]")
        page.get_by_role("button", name="S’abonner").click()
        page.wait_for_selector("main >> text=un lien de confirmation est en route")
        with ctx.db.transaction() as connection:
            pending = subscribers.by_email(connection, NEWCOMER)
        assert pending is not None and pending.status is SubscriberStatus.PENDING

        # The mailed link (the only new message), in French, opens one button.
        assert wait_for(lambda: len(set(_mails(project)) - before) == 1, 30)
        (name,) = set(_mails(project)) - before
        mail = _mails(project)[name]
        assert _to(mail) == NEWCOMER and "Confirmez" in str(mail["Subject"])
        link = re.search(rf"{re.escape(BASE)}/confirm/\S+", _plain(mail))
        assert link, _plain(mail)
        page.goto(link.group(0).replace(BASE, f"{url}/digest"))
        page.get_by_role("button", name="Confirmer mon abonnement").click()
        page.wait_for_selector("text=votre abonnement est confirmé")

        # Preferences in French: the themes change from culture to economy and environment.
        # (its link is the site's public address: followed here on the test's server)
        href = page.get_by_role("link", name="Vos préférences").get_attribute("href")
        assert href and href.startswith(f"{BASE}/p/")
        page.goto(href.replace(BASE, f"{url}/digest"))
        assert page.get_attribute("html", "lang") == "fr"
        assert page.locator("h1").inner_text() == "Vos préférences"
        page.uncheck("input[name=themes][value=culture]")
        page.check("input[name=themes][value=economy]")
        page.check("input[name=themes][value=environment]")
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_selector("[role=status] >> text=Enregistré.")
        with ctx.db.transaction() as connection:
            member = subscribers.by_email(connection, NEWCOMER)
        assert member is not None and member.status is SubscriberStatus.ACTIVE
        assert (member.language, set(member.themes)) == ("fr", {"economy", "environment"})

        # The data download: the record, the consent as shown and when it was confirmed.
        with page.expect_download() as waited:
            page.get_by_role("link", name="Télécharger mes données (JSON)").click()
        data = json.loads(Path(waited.value.path()).read_text(encoding="utf-8"))
        text = json.dumps(data, ensure_ascii=False)
        assert NEWCOMER in text and "Camille Durand" in text
        assert '"economy"' in text and '"environment"' in text
        (consent,) = data["consents"]
        assert consent["page"] == "/subscribe" and consent["language"] == "fr"
        assert consent["given_at"] and consent["confirmed_at"]
        shown = httpx.get(f"{url}/digest/subscribe", headers={"Accept-Language": "fr"}).text
        assert consent["wording"] and consent["wording"] in html.unescape(" ".join(shown.split()))

        # Erasure: a page saying what goes, one button, then nothing of them is left.
        page.get_by_role("link", name="M’effacer").click()
        assert page.get_attribute("html", "lang") == "fr"
        page.get_by_role("button", name="Effacer mes données").click()
        page.wait_for_selector("h1 >> text=Vos données sont effacées")
    finally:
        context.close()
    with ctx.db.transaction() as connection:
        assert subscribers.by_email(connection, NEWCOMER) is None
        assert suppression.is_suppressed(connection, NEWCOMER)
    exported = run_digest(project, "subscribers", "export", NEWCOMER, env={
        "DIGEST_SECRET_KEY": SECRET})
    assert exported.returncode == 2  # nobody of that address any more


def test_a_bounce_in_the_imap_mailbox_marks_its_member_and_the_next_edition_skips_them(
        site: tuple[Context, str, dict[str, str]], dovecot: Dovecot) -> None:  # noqa: F811
    ctx, _, env = site
    project = ctx.settings.config_path.parent
    weekly = [m for m in _mails(project).values() if "<weekly." in str(m["List-Id"])]
    assert ANNA in {_to(m) for m in weekly}
    (to_anna,) = [m for m in weekly if _to(m) == ANNA]
    dovecot.append(dsn(recipient=ANNA, original_message_id=str(to_anna["Message-ID"]),
                       report_id="<flow-bounce@mx.example.net>"))
    # Something new for next Monday's edition, so there is one to skip her from.
    note = project / "sample" / "items" / "housing-first.md"
    note.write_text("---\ntitle: Housing First in Lisbon\nkind: news\ndate: 2019-03-21\n"
                    "themes: [cooperation, knowledge-society, economy, culture, environment]\n"
                    "link: https://eurocities.example.org/latest/housing-first\n---\n\n"
                    "Lisbon's Housing First programme reaches its 400th tenant.\n")
    before = set(_mails(project))
    second = run_digest(project, "run", "--once", now=NEXT_MONDAY, env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "bounces: 1 read: 1 hard" in second.stdout
    assert dovecot.unseen() == 0  # read, and marked so
    with ctx.db.transaction() as connection:
        anna = subscribers.by_email(connection, ANNA)
        others = {m.email for m in subscribers.active_for(connection, "weekly")}
    assert anna is not None and anna.status is SubscriberStatus.BOUNCED
    new = [_mails(project)[name] for name in set(_mails(project)) - before]
    second_weekly = [m for m in new if "<weekly." in str(m["List-Id"])]
    assert second_weekly, second.stdout
    assert {_to(m) for m in second_weekly} == others and ANNA not in others
    assert all("Housing First in Lisbon" in _plain(m) for m in second_weekly)
    status = run_digest(project, "status", now=NEXT_MONDAY, env=env)
    assert "members bounced: 1" in status.stdout
