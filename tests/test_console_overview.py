"""The console's overview (``/admin/``) and its frame: what it shows from the store and the
folder, its live refresh in Chromium, and axe-core's WCAG 2.1 AA check of the sign-in
pages and the overview at a phone's and a desktop's width, in English and French."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest.jobs.review import approve_bulletin
from digest.models import EditionStatus, Subscriber
from digest.store import audit, deliveries, editions, sources, subscribers
from digest.testing import ManualClock
from tests.admin_client import signed_in
from tests.conftest import ROOT
from tests.mail_server import free_port
from tests.test_accessibility import axe_violations
from tests.test_console_access import NOW, Served, make_ctx, write_config
from tests.web_app_server import serving

HELD = "2019-04-01T08:00:00+01:00"


@pytest.fixture
def busy(tmp_path: Path) -> Iterator[Served]:
    """A served site with one bulletin due and one held, an edition half sent, a failing
    source and an audited action."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, url)
    config.write_text(config.read_text() + "bulletins: {path: bulletins, audience: weekly}\n")
    folder = tmp_path / "bulletins"
    folder.mkdir()
    sample = next((ROOT / "sample" / "bulletins").glob("*.md"))
    shutil.copy(sample, folder / "due.md")
    (folder / "held.md").write_text(sample.read_text().replace(
        "language: en\n", f"language: en\nsend_at: {HELD}\n").replace(
        "title: Updates", "title: Later updates"))
    clock = ManualClock(NOW)
    ctx = make_ctx(config, clock)
    # due.md approved (its placeholder links overridden); held.md held by them.
    approve_bulletin(ctx, "due", "approver@example.org", reason="links known")
    with ctx.db.transaction() as connection:
        for number in range(5):
            subscribers.add(connection, Subscriber(email=f"m{number}@example.org", name="",
                                                   language="en", digests=("weekly",)), NOW)
        ids = [m.id for m in subscribers.all_members(connection) if m.id is not None]
        row = editions.create(connection, digest_id="weekly", slot=NOW, number=3,
                              status=EditionStatus.SENDING, title="Weekly", period_start=None,
                              period_end=NOW, item_keys=["a", "b"], omitted=0, now=NOW)
        assert row is not None
        assert editions.create(connection, digest_id="monthly", slot=NOW, number=7,
                               status=EditionStatus.DRAFT, title="Monthly", period_start=None,
                               period_end=NOW, item_keys=["c", "d", "e"], omitted=0, now=NOW)
        deliveries.plan(connection, row.id, [(i, "full") for i in ids], NOW)
        rows = deliveries.pending(connection, row.id)
        deliveries.mark_sent(connection, rows[0].id, NOW, "<1@x>")
        deliveries.mark_failed(connection, rows[1].id, NOW, None, "550 no such user")
        deliveries.defer(connection, rows[2].id, NOW, None, "421 busy",
                         NOW + timedelta(minutes=10))
        sources.record(connection, "good-feed", "https://example.org/feed", NOW, None, 4)
        sources.record(connection, "broken-feed", "https://example.org/gone", NOW,
                       "HTTP 404", None)
        audit.record(connection, at=NOW, actor="approver@example.org", action="approve",
                     target="weekly/2", reason="checked by phone")
    with serving(ctx, port):
        yield Served(ctx, clock, url, tmp_path)


def _client(busy: Served) -> tuple[httpx.Client, str]:
    return signed_in((busy.ctx, httpx.Client(base_url=busy.url, follow_redirects=False,
                                             timeout=20)), "approver@example.org")


def test_the_overview_shows_what_goes_out_what_waits_and_what_fails(busy: Served) -> None:
    client, _ = _client(busy)
    page = client.get("/admin/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = page.text
    assert "2019-03-25 08:00" in text and "2019-04-01 08:00" in text  # next slots
    assert "monthly/7: 3 items" in text  # its draft, waiting for approval
    assert "Later updates" in text and "held" in text and "due" in text
    assert 'state-held">held<' in text and 'state-due">due<' in text  # jobs.bulletin_state
    sending = text.split('id="live-sending"', 1)[1].split("</section>", 1)[0]
    assert "weekly/3" in sending
    # sent 1, pending 1 (5 - sent - failed - deferred - ...), deferred 1, failed 1
    cells = [cell.split("<", 1)[0] for cell in sending.split("<td>")[1:]]
    assert cells == ["1", "2", "1", "1"]
    assert text.index("broken-feed") < text.index("good-feed")  # failing first
    assert "HTTP 404" in text and "checked by phone" in text
    french = client.get("/admin/", headers={"Accept-Language": "fr-BE, en;q=0.5"})
    assert 'lang="fr"' in french.text and "Vue d’ensemble" in french.text
    assert 'lang="de"' in client.get("/admin/", headers={"Accept-Language": "de"}).text
    assert 'lang="en"' in client.get("/admin/", headers={"Accept-Language": "it"}).text


def test_the_counts_refresh_by_themselves(browser: Any, busy: Served) -> None:
    client, _ = _client(busy)
    context = browser.new_context(viewport={"width": 375, "height": 800})
    try:
        context.add_cookies([{"name": "digest_console", "value": client.cookies["digest_console"],
                              "url": busy.url}])
        page = context.new_page()
        page.goto(f"{busy.url}/admin/")
        page.wait_for_selector("#live-sending")
        first = page.inner_text("#live-sending")
        # Usable at 375 px: nothing wider than the screen (tables scroll in their box).
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        with busy.ctx.db.transaction() as connection:
            row = editions.by_label(connection, "weekly/3")
            assert row is not None
            for delivery in deliveries.pending(connection, row.id):
                deliveries.mark_sent(connection, delivery.id, NOW, "<2@x>")
        page.wait_for_function(
            "(first) => document.querySelector('#live-sending').innerText !== first",
            arg=first, timeout=15_000)
        assert "weekly/3" in page.inner_text("#live-sending")
    finally:
        context.close()


def _assert_none(violations: list[dict[str, Any]], where: str) -> None:
    summary = [{"rule": v["id"], "impact": v["impact"], "help": v["help"],
                "nodes": [n["html"][:160] for n in v["nodes"][:3]]} for v in violations]
    assert not violations, f"{where}: " + json.dumps(summary, indent=1)


def test_the_console_pages_pass_axe(browser: Any, busy: Served) -> None:
    client, _ = _client(busy)
    from digest.jobs.sign_in import issue_link

    link = issue_link(busy.ctx, "editor@example.org")
    assert link
    anonymous = httpx.Client(base_url=busy.url, timeout=20)
    pages = {
        "login": anonymous.get("/admin/login").text,
        "login-fr": anonymous.get("/admin/login", headers={"Accept-Language": "fr"}).text,
        "link-sent": anonymous.post("/admin/login", data={"email": "x@example.org"}).text,
        "link-button": anonymous.get(link).text,
        "link-not-valid": anonymous.get("/admin/login/not-a-token").text,
        "overview": client.get("/admin/").text,
        "overview-de": client.get("/admin/", headers={"Accept-Language": "de"}).text,
        "forbidden": client.post("/admin/logout", data={"csrf": "wrong"}).text,
    }
    for name, html in pages.items():
        for width in (375, 1024):
            _assert_none(axe_violations(browser, name, width, html=html), f"{name} {width}")
