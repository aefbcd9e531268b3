"""The console's overview (``/admin/``) and its frame: what it shows from the store and the
folder, its live refresh in Chromium, and axe-core's WCAG 2.1 AA check of the sign-in
pages and the overview at a phone's and a desktop's width, in English and French."""

from __future__ import annotations

import ast
import json
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest.jobs.overview import WHY_LINES, bulletin_lines
from digest.jobs.review import approve_bulletin, find_bulletin
from digest.models import EditionStatus, Subscriber, SubscriberStatus
from digest.render.i18n import translate
from digest.store import audit, bounce_reports, deliveries, editions, sources, subscribers
from digest.testing import ManualClock
from digest.web.admin.audit_view import ACTION_LABELS, action_label, target_path
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
        audit.record(connection, at=NOW, actor="approver@example.org", action=audit.Action.APPROVE,
                     target="weekly/2", reason="checked by phone")
        bounce_reports.record(connection, report_key="k1", kind="hard", detail="hard 5.1.1",
                              now=NOW, subscriber_id=ids[1], delivery_id=rows[1].id)
        subscribers.set_status_by_id(connection, ids[1], SubscriberStatus.BOUNCED)
        for key in ("k2", "k3"):
            bounce_reports.record(connection, report_key=key, kind="unmatched", detail="soft",
                                  now=NOW)
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
    assert "monthly/7</a>: 3 items" in text  # its draft, waiting for approval
    assert "Later updates" in text and "held" in text and "due" in text
    assert 'state-held">held<' in text and 'state-due">due<' in text  # jobs.bulletin_state
    sending = text.split('id="live-sending"', 1)[1].split("</section>", 1)[0]
    assert "weekly/3" in sending
    # sent 1, pending 1 (5 - sent - failed - deferred - ...), deferred 1, failed 1
    cells = [cell.split("<", 1)[0] for cell in sending.split("<td>")[1:]]
    assert cells == ["1", "2", "1", "1"]
    assert text.index("broken-feed") < text.index("good-feed")  # failing first
    assert "HTTP 404" in text and "checked by phone" in text
    bounces = text.split('id="bounces"', 1)[1].split("</section>", 1)[0]
    counts = [cell.split("<", 1)[0] for cell in bounces.split("<dd>")[1:]]
    assert counts == ["1", "0", "0", "2", "1"]  # hard, soft, complaints, unmatched, members
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
        "bulletins": client.get("/admin/bulletins").text,
        "bulletins-fr": client.get("/admin/bulletins", headers={"Accept-Language": "fr"}).text,
        "forbidden": client.post("/admin/logout", data={"csrf": "wrong"}).text,
    }
    for name, html in pages.items():
        for width in (375, 1024):
            _assert_none(axe_violations(browser, name, width, html=html), f"{name} {width}")


# ------------------------------------------------- where the overview leads, and why it waits


class _Links(HTMLParser):
    """Each link of a page: its href and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href") or "", ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join(self._text.split())))
            self._href = None


def links_of(html: str) -> list[tuple[str, str]]:
    parser = _Links()
    parser.feed(html)
    return parser.links


def test_every_bulletin_edition_and_audited_target_links_to_its_page(busy: Served) -> None:
    client, _ = _client(busy)
    admin = f"{busy.url}/admin"
    with busy.ctx.db.transaction() as connection:
        audit.record(connection, at=NOW, actor="cli", action=audit.Action.PAUSE,
                     target="weekly/3")
        audit.record(connection, at=NOW, actor="eva@example.org",
                     action=audit.Action.MEMBERS_EXPORT, target="members")
        entries = audit.latest(connection)
    page = client.get("/admin/").text
    hrefs = {href for href, _ in links_of(page)}
    lines, _ = bulletin_lines(busy.ctx)
    assert {line.slug for line in lines} == {"due", "held"}
    for line in lines:
        assert {f"{admin}/bulletins/{line.slug}", f"{admin}/bulletins/{line.slug}/edit"} <= hrefs
    assert f"{admin}/editions/monthly/7" in hrefs  # the draft
    assert f"{admin}/editions/weekly/3" in hrefs  # being sent
    for entry in entries:
        path = target_path(entry.target)
        assert path is not None, entry.target
        assert f"{admin}{path}" in hrefs, entry.target
    assert {target_path("bulletin:due"), target_path("weekly/2"), target_path("members")} == {
        "/bulletins/due", "/editions/weekly/2", "/members"}
    # The links to the bulletins and editions that exist open their pages.
    opened = [f"{admin}/editions/monthly/7", f"{admin}/editions/weekly/3"] + [
        h for h in hrefs if h.startswith(f"{admin}/bulletins/")]
    for href in opened:
        assert client.get(href).status_code == 200, href


def test_a_held_bulletin_says_why_with_its_first_errors_by_line(busy: Served) -> None:
    client, _ = _client(busy)
    status = find_bulletin(busy.ctx, "held").status
    assert status.state == "held" and len(status.errors) > WHY_LINES
    for url in ("/admin/", "/admin/bulletins"):
        for language in ("en", "fr", "de"):
            text = unescape(client.get(url, headers={"Accept-Language": language}).text)
            row = text.split(">Later updates", 1)[1].split("</tr>", 1)[0]
            count = len(status.errors)
            assert f"{count} " in row and translate(language, "held") in row
            shown = re.findall(r"<code>([^<]*)</code>", row)
            assert shown == [f"held.md:{p.location.rsplit(':', 1)[1]}: {p.message}"
                             for p in status.errors[:WHY_LINES]]
    due = unescape(client.get("/admin/bulletins").text).split(">Updates from", 1)[1]
    assert "<code>" not in due.split("</tr>", 1)[0]  # an approved one has nothing to fix


def test_a_newcomer_reaches_the_held_bulletin_in_two_clicks(busy: Served) -> None:
    client, _ = _client(busy)
    for language in ("en", "fr", "de"):
        headers = {"Accept-Language": language}
        start = client.get("/admin/", headers=headers).text
        nav = start.split('class="console-nav"', 1)[1].split("</nav>", 1)[0]
        label = translate(language, "Bulletins")
        [listing] = [href for href, text in links_of(nav) if text == label]
        page = client.get(listing, headers=headers)
        assert page.status_code == 200 and translate(language, "New bulletin") in page.text
        found = {text: href for href, text in links_of(page.text)}
        assert found[translate(language, "New bulletin")].endswith("/admin/bulletins/new")
        [title] = [text for text in found if text.startswith("Later updates")]
        held = client.get(found[title], headers=headers)
        assert held.status_code == 200 and title in unescape(held.text)


def test_every_action_the_code_writes_has_a_label_in_each_language(busy: Served) -> None:
    """Each action the audit log can hold (``audit.Action``: ``record`` accepts no other)
    has a label, translated; no writer passes a bare string; the page shows the label."""
    assert set(ACTION_LABELS) == {str(action) for action in audit.Action}
    for label in set(ACTION_LABELS.values()):
        for language in ("fr", "de"):
            assert translate(language, label) != label, (language, label)
    bare = []
    for path in (ROOT / "digest").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "action" and isinstance(keyword.value, ast.Constant) \
                            and getattr(node.func, "attr", "") == "record":
                        bare.append(f"{path}:{node.lineno}")
    assert bare == []
    assert action_label("not.an.action") == "not.an.action"  # a newer code, as stored
    client, _ = _client(busy)
    for language in ("en", "fr", "de"):
        text = client.get("/admin/", headers={"Accept-Language": language}).text
        actions = text.split('id="actions"', 1)[1]
        assert f"<td>{translate(language, 'approved')}</td>" in unescape(actions)
        assert "<td>approve</td>" not in actions


def test_the_list_of_bulletins_fits_a_phone(browser: Any, busy: Served) -> None:
    client, _ = _client(busy)
    context = browser.new_context(viewport={"width": 375, "height": 800})
    try:
        context.add_cookies([{"name": "digest_console", "value": client.cookies["digest_console"],
                              "url": busy.url}])
        page = context.new_page()
        for path in ("/admin/bulletins", "/admin/"):
            page.goto(f"{busy.url}{path}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    finally:
        context.close()
