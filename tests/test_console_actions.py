"""The console's actions (issue 11, section 5) through the web, as coordinators press them:
each answers with the page again and a message, changes what its job changes and writes
its audit row with the coordinator; an editor's POST of an approver's action, or a POST
without the CSRF token, answers 403 and changes nothing; a digest's own approver acts on
that digest only; test copies reach the addresses with [TEST] and are no delivery; the
curation shows in the preview; the pages with their forms are axe-clean at 375 and 1024 px
in Chromium, and a form works there without script."""

from __future__ import annotations

import email
import email.policy
import html
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from digest.jobs import curation
from digest.jobs.context import Context
from digest.jobs.delivery import send_edition
from digest.jobs.manual import find_edition, stored_emails
from digest.jobs.review import find_bulletin
from digest.mail.envelope import Envelope
from digest.mail.transports.files import FileTransport
from digest.models import RunReport
from digest.store import audit, deliveries
from digest.store.schema import deliveries as deliveries_table
from tests.admin_client import signed_in
from tests.conftest import ROOT, SAMPLE_BULLETIN_SLUG, reset_postgres, run_digest
from tests.test_console_preview import make_context
from tests.web_app_server import serving

NOW = datetime(2019, 3, 18, 7, 30, tzinfo=UTC)
SLUG = SAMPLE_BULLETIN_SLUG
ED, ANN, DAN = "ed@example.org", "ann@example.org", "dan@example.org"
BULLETIN, EDITION = f"/admin/bulletins/{SLUG}", "/admin/editions/weekly/1"
# Every approver's action, on each kind of target (the editor may only test and curate).
APPROVER_ACTIONS = [(BULLETIN, "approve", {"reason": "known"}),
                    (BULLETIN, "reject", {"note": "fix it"}),
                    (BULLETIN, "schedule", {"send_at": "2019-03-20T09:30"}),
                    (BULLETIN, "pause", {}), (BULLETIN, "resume", {}), (BULLETIN, "cancel", {}),
                    (BULLETIN, "retry-failed", {}),
                    (EDITION, "approve", {}), (EDITION, "pause", {}), (EDITION, "resume", {}),
                    (EDITION, "cancel", {}), (EDITION, "retry-failed", {})]
EDITOR_ACTIONS = [(BULLETIN, "test", {}), (EDITION, "test", {}), (EDITION, "note", {"note": "x"}),
                  (EDITION, "omit", {"item": "?"}), (EDITION, "restore", {"item": "?"}),
                  (EDITION, "pin", {"item": "?"}), (EDITION, "unpin", {"item": "?"})]


def make_project(folder: Path, database_url: str | None = None) -> Path:
    """The sample with ``approval: true``, an editor, an approver, a weekly-only approver,
    one sender thread; after one run: the draft weekly/1, the held sample bulletin."""
    shutil.copy(ROOT / "schedules.yaml", folder / "schedules.yaml")
    shutil.copytree(ROOT / "sample", folder / "sample")
    config = folder / "schedules.yaml"
    text = config.read_text().replace("approval: false", f"""approval: true
    coordinators:
      - {{email: {DAN}, name: Dan, role: approver}}""").replace("concurrency: 4",
                                                               "concurrency: 1")
    assert "\ncoordinators:\n" in text  # the sample's own coordinator; Ed and Ann join
    config.write_text(text.replace("\ncoordinators:\n", f"""
coordinators:
  - {{email: {ED}, name: Ed, role: editor}}
  - {{email: {ANN}, name: Ann, role: approver}}
"""))
    env = {"DIGEST_DATABASE_URL": database_url} if database_url else None
    result = run_digest(folder, "run", "--once", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "weekly/1: draft of" in result.stdout
    return folder


@pytest.fixture
def site(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Context]:
    """The project on SQLite, or on PostgreSQL for a test parametrized ``postgres``."""
    url = None
    if getattr(request, "param", "sqlite") == "postgres":
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
    ctx = make_context(make_project(tmp_path, url), url)
    yield ctx
    ctx.close()


BACKENDS = pytest.mark.parametrize("site", ["sqlite", "postgres"], indirect=True)


def _post(client: httpx.Client, csrf: str | None, path: str,
          fields: dict[str, Any] | None = None) -> httpx.Response:
    data = dict(fields or {})
    if csrf is not None:
        data["csrf"] = csrf
    return client.post(path, data=data, follow_redirects=False)


def _flash(page: httpx.Response) -> str:
    found = re.search(r'<p class="flash[^"]*" role="(?:status|alert)">(.*?)</p>', page.text,
                      re.S)
    return html.unescape(found.group(1)) if found else ""


def _log(ctx: Context) -> list[tuple[str, str, str, str | None]]:
    with ctx.db.transaction() as connection:
        return [(e.actor, e.action, e.target, e.reason)
                for e in audit.latest(connection, 1000)]


def _state(ctx: Context) -> tuple[str, str, dict[str, int]]:
    """What any action could change: the bulletin's state, the edition's, its messages."""
    row = find_edition(ctx, "weekly/1")
    with ctx.db.transaction() as connection:
        counts = deliveries.counts(connection, row.id)
    return str(find_bulletin(ctx, SLUG).status.state), str(row.status), counts


def _delivery_rows(ctx: Context) -> int:
    with ctx.db.transaction() as connection:
        return int(connection.execute(select(func.count()).select_from(deliveries_table))
                   .scalar_one())


def _outbox(ctx: Context) -> dict[str, email.message.EmailMessage]:
    box = ctx.settings.out_dir / "outbox"
    found = {}
    for path in sorted(box.glob("*.eml")) if box.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        found[path.name] = message
    return found


# ------------------------------------------------------------------ who may, and the token


def test_refused_posts_change_nothing(site: Context) -> None:
    editor, editor_csrf = signed_in(site, ED)
    approver, approver_csrf = signed_in(site, ANN)
    before, log, outbox = _state(site), _log(site), set(_outbox(site))
    for base, action, fields in APPROVER_ACTIONS:
        answer = _post(editor, editor_csrf, f"{base}/{action}", fields)
        assert answer.status_code == 403, (base, action)
        assert "Nothing was changed" in answer.text
    for base, action, fields in APPROVER_ACTIONS + EDITOR_ACTIONS:
        for csrf in (None, "0" * 64, editor_csrf):  # none, a wrong one, another session's
            assert _post(approver, csrf, f"{base}/{action}", fields).status_code == 403
    shown = approver.get(f"{EDITION}/approve")  # the answer's address, reloaded: the page
    assert shown.status_code == 200 and not _flash(shown) and 'src="../1/email.html?' in shown.text
    approver.cookies.clear()
    assert approver.get(f"{EDITION}/approve").status_code == 303
    assert _post(approver, approver_csrf, f"{BULLETIN}/approve", {"reason": "x"}
                 ).status_code == 403
    assert (_state(site), _log(site), set(_outbox(site))) == (before, log, outbox)


def test_a_digests_own_approver_acts_on_that_digest_only(site: Context) -> None:
    client, csrf = signed_in(site, DAN)
    page = client.get(EDITION).text
    assert 'action="1/approve"' in page
    assert f"{SLUG}/approve" not in client.get(BULLETIN).text  # not offered
    assert _post(client, csrf, f"{BULLETIN}/approve", {"reason": "x"}).status_code == 403
    assert _state(site)[0] == "held"
    answer = _post(client, csrf, f"{EDITION}/approve")
    assert answer.status_code == 200 and _flash(answer) == "Approved."
    assert _state(site)[1] == "approved"
    assert (DAN, "approve", "weekly/1", None) in _log(site)


# ------------------------------------------------------------------ a bulletin's life


@BACKENDS
def test_a_bulletins_review_through_the_web(site: Context) -> None:
    client, csrf = signed_in(site, ANN)
    page = client.get(BULLETIN)
    assert ">held</strong>" in page.text
    assert re.search(r'<textarea id="approve-reason" name="reason" rows="2" required>', page.text)
    for action in ("approve", "reject", "test"):
        assert f'action="{SLUG}/{action}"' in page.text
    assert f"{SLUG}/pause" not in page.text  # not sent: nothing to pause

    refused = _post(client, csrf, f"{BULLETIN}/approve", {"reason": "  "})
    assert refused.status_code == 409 and "7 lint errors" in refused.text
    assert "<iframe" in refused.text  # the page again, its preview with it
    assert _state(site)[0] == "held" and not _log(site)

    assert _post(client, csrf, f"{BULLETIN}/reject", {"note": " "}).status_code == 400
    rejected = _post(client, csrf, f"{BULLETIN}/reject", {"note": "fill in the links"})
    assert rejected.status_code == 200 and _flash(rejected) == "Rejected."
    assert ">rejected</strong>" in rejected.text
    stale = _post(client, csrf, f"{BULLETIN}/approve",
                  {"reason": "r", "content_hash": "0" * 64})  # what the approver looked at
    assert stale.status_code == 409 and "changed since you looked" in stale.text

    approved = _post(client, csrf, f"{BULLETIN}/approve",
                     {"reason": "links are on the site", "content_hash":
                      find_bulletin(site, SLUG).status.content_hash})
    assert approved.status_code == 200 and _flash(approved) == "Approved."
    assert _state(site)[0] == "due" and ">due</strong>" in approved.text

    # A schedule is typed in the site's zone and shown back in it.
    zone = site.settings.site.zone
    for typed in ("2019-03-20T09:30", "2019-10-27T02:30"):  # the second: a DST change day
        scheduled = _post(client, csrf, f"{BULLETIN}/schedule", {"send_at": typed})
        assert scheduled.status_code == 200, scheduled.text[:300]
        moment = datetime.fromisoformat(typed).replace(tzinfo=zone)
        status = find_bulletin(site, SLUG).status
        assert status.state == "scheduled" and status.send_at == moment.astimezone(UTC)
        assert f'value="{typed}"' in scheduled.text
        assert typed.replace("T", " ") in _flash(scheduled)
    for bad in ("tomorrow", "2019-03-20", "2019-02-30T10:00"):
        assert _post(client, csrf, f"{BULLETIN}/schedule", {"send_at": bad}).status_code == 400
    cleared = _post(client, csrf, f"{BULLETIN}/schedule", {"send_at": ""})
    assert cleared.status_code == 200 and _state(site)[0] == "due"

    nothing = _post(client, csrf, f"{BULLETIN}/pause")
    assert nothing.status_code == 409 and "no edition yet" in _flash(nothing)
    log = _log(site)
    assert [(a, t) for _, a, t, _ in log] == [("schedule", f"bulletin:{SLUG}")] * 3 + [
        ("approve", f"bulletin:{SLUG}"), ("reject", f"bulletin:{SLUG}")]
    assert {actor for actor, *_ in log} == {ANN}
    assert log[3][3] == "links are on the site" and log[4][3] == "fill in the links"
    history = client.get(BULLETIN).text.split('id="history-heading"')[1]
    assert history.index("links are on the site") > history.index("scheduled")  # newest first


def test_test_copies_reach_the_addresses_and_are_no_delivery(site: Context) -> None:
    client, csrf = signed_in(site, ED)
    rows, before = _delivery_rows(site), set(_outbox(site))

    def sent_since() -> list[email.message.EmailMessage]:
        nonlocal before
        now = _outbox(site)
        new = [now[name] for name in sorted(set(now) - before)]
        before = set(now)
        return new

    mine = _post(client, csrf, f"{BULLETIN}/test")
    assert mine.status_code == 200 and ED in _flash(mine)
    [copy] = sent_since()
    assert copy["To"].addresses[0].addr_spec == ED and copy["Subject"].startswith("[TEST]")
    typed = "a@example.org\nB@example.org, c@example.org  a@example.org"
    answer = _post(client, csrf, f"{EDITION}/test",
                   {"to": typed, "language": "fr", "themes": ["culture"]})
    assert answer.status_code == 200, _flash(answer)
    copies = sent_since()
    assert sorted(m["To"].addresses[0].addr_spec.lower() for m in copies) == [
        "a@example.org", "b@example.org", "c@example.org"]
    for message in copies:
        assert message["Subject"].startswith("[TEST]")
        body = message.get_body(("html",))
        assert body is not None and '<html lang="fr"' in body.get_content()
    for fields in ({"to": "not an address"}, {"to": " ".join(f"p{i}@example.org"
                                                               for i in range(21))},
                   {"to": "x@example.org", "themes": ["no-such-theme"]},
                   {"to": "x@example.org", "language": "not a language"}):
        refused = _post(client, csrf, f"{EDITION}/test", fields)
        assert refused.status_code == 400 and _flash(refused), fields
    assert not sent_since() and _delivery_rows(site) == rows
    tests = [entry for entry in _log(site) if entry[1] == "test-send"]
    assert [(actor, target) for actor, _, target, _ in tests] == [
        (ED, "weekly/1"), (ED, f"bulletin:{SLUG}")]


# ------------------------------------------------------------------ an edition's life


class PausingTransport:
    """The file transport; after the first message, an approver presses "Pause"."""

    def __init__(self, ctx: Context, pause: Callable[[], httpx.Response]) -> None:
        self.inner = FileTransport(ctx.settings.out_dir / "outbox")
        self.pause, self.sent = pause, 0

    def send(self, envelope: Envelope) -> str:
        answer = self.inner.send(envelope)
        self.sent += 1
        if self.sent == 1:
            assert self.pause().status_code == 200
        return answer

    def close(self) -> None:
        self.inner.close()


@BACKENDS
def test_an_editions_curation_approval_pause_resume_cancel_and_retry(site: Context) -> None:
    editor, editor_csrf = signed_in(site, ED)
    client, csrf = signed_in(site, ANN)
    row = find_edition(site, "weekly/1")
    first, second = row.item_keys[:2]
    with site.db.transaction() as connection:
        from digest.store import items
        titles = {i.key: i.title for i in items.items_by_keys(connection, row.item_keys)}
    page = editor.get(EDITION).text
    assert page.count("Leave out") == len(row.item_keys) and 'name="note"' in page
    assert "1/approve" not in page  # an editor is not offered it

    # Curation by the editor: shown in the page and in the email previewed.
    steps = [("omit", {"item": first}, "Item left out."), ("pin", {"item": second},
             "Item pinned first."), ("note", {"note": "**Editor's pick** this week"},
                                     "Note saved.")]
    for action, fields, said in steps:
        answer = _post(editor, editor_csrf, f"{EDITION}/{action}", fields)
        assert answer.status_code == 200 and _flash(answer) == said, _flash(answer)
        assert 'src="../1/email.html?' in answer.text  # one level down: .../1/pin
    frame = editor.get(f"{EDITION}/email.html").text
    assert "this week" in frame and html.escape(titles[first]) not in frame
    assert frame.index(html.escape(titles[second])) < min(
        frame.index(html.escape(titles[k])) for k in row.item_keys[2:]
        if html.escape(titles[k]) in frame)
    page = editor.get(EDITION).text
    assert "Restore" in page and "Unpin" in page and "Editor&#39;s pick" in page
    assert _post(editor, editor_csrf, f"{EDITION}/pin", {"item": "nope"}).status_code == 409
    assert _post(editor, editor_csrf, f"{EDITION}/omit", {}).status_code == 400
    restored = _post(editor, editor_csrf, f"{EDITION}/restore", {"item": first})
    assert restored.status_code == 200
    assert html.escape(titles[first]) in editor.get(f"{EDITION}/email.html").text

    # Approved, sent until an approver pauses it; then no cancel; resume; retry.
    assert _flash(_post(client, csrf, f"{EDITION}/approve")) == "Approved."
    assert _post(editor, editor_csrf, f"{EDITION}/note", {"note": "late"}).status_code == 409
    row = find_edition(site, "weekly/1")
    transport = PausingTransport(site, lambda: _post(client, csrf, f"{EDITION}/pause"))
    send_edition(site, row, stored_emails(site, row, revive=True, report=RunReport()),
                 transport)
    _, edition, counts = _state(site)
    assert edition == "paused" and counts.get("sent") == 1 and counts.get("pending", 0) >= 1
    page = client.get(EDITION).text
    assert "Resume sending" in page and "Pause sending" not in page and "Cancel" not in page
    refused = _post(client, csrf, f"{EDITION}/cancel", {"reason": "too late"})
    assert refused.status_code == 409 and "sending has started" in _flash(refused)
    resumed = _post(client, csrf, f"{EDITION}/resume")
    assert resumed.status_code == 200 and _state(site)[1] == "sending"
    with site.db.transaction() as connection:
        connection.execute(deliveries_table.update().where(
            deliveries_table.c.edition_id == row.id,
            deliveries_table.c.status == "pending").values(status="failed"))
    failed = _state(site)[2]["failed"]
    retried = _post(client, csrf, f"{EDITION}/retry-failed")
    assert retried.status_code == 200 and _flash(retried) == (
        f"Failed messages queued again: {failed}.")
    assert _state(site)[2].get("failed", 0) == 0
    actions = [(actor, action) for actor, action, target, _ in _log(site)
               if target == "weekly/1"]
    assert actions == [(ANN, "retry-failed"), (ANN, "resume"), (ANN, "pause"),
                       (ANN, "approve"), (ED, "restore"), (ED, "note"), (ED, "pin"),
                       (ED, "omit")]
    overview = client.get("/admin/").text.split('id="actions"')[1]
    for label in ("failed messages queued again", "resumed", "paused", "approved",
                  "item restored", "note saved", "item pinned", "item left out"):
        assert label in overview, label
    assert ED in overview and ANN in overview and "weekly/1" in overview


def test_a_draft_is_cancelled_before_its_first_message(site: Context) -> None:
    client, csrf = signed_in(site, ANN)
    answer = _post(client, csrf, f"{EDITION}/cancel", {"reason": "wrong week"})
    assert answer.status_code == 200 and _flash(answer) == "Cancelled."
    assert _state(site)[1] == "cancelled" and ">cancelled</strong>" in answer.text
    assert (ANN, "cancel", "weekly/1", "wrong week") in _log(site)
    assert _post(client, csrf, f"{EDITION}/approve").status_code == 409
    french = client.post(f"{EDITION}/resume", data={"csrf": csrf},
                         headers={"Accept-Language": "fr"})
    assert french.status_code == 409 and "<h2 id=\"acting-heading\">État et actions" in french.text


# ------------------------------------------------------------------ in Chromium


def _axe(page: Any) -> list[tuple[str, str]]:
    from tests.external_tools import axe_script
    from tests.test_accessibility import WCAG_AA

    page.add_script_tag(path=str(axe_script()))
    violations = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']})).violations", WCAG_AA)
    return [(v["id"], v["nodes"][0]["html"][:150]) for v in violations]


def test_axe_on_the_pages_with_action_forms_and_a_form_without_script(
        browser: Any, site: Context) -> None:
    ctx = make_context(site.settings.base_dir)
    with serving(ctx) as url:
        client, _ = signed_in(ctx, ANN)  # its session cookie, for Chromium
        cookies = [{"name": n, "value": v, "url": url} for n, v in client.cookies.items()]

        def new_page(width: int, script: bool = True) -> Any:
            context = browser.new_context(viewport={"width": width, "height": 900},
                                          bypass_csp=True, java_script_enabled=script)
            context.add_cookies(cookies)
            return context.new_page()

        for width in (375, 1024):
            for path in (EDITION, BULLETIN, "pin"):
                page = new_page(width)
                page.goto(url + EDITION if path == "pin" else url + path)
                if path == "pin":  # an action's answer page, kept live as the page is
                    page.locator("button", has_text="Pin first").first.click()
                    page.wait_for_load_state()
                    assert "Item pinned first." in page.content()
                    curation.set_note(ctx, "weekly/1", f"Live note {width}", ANN)
                    page.frame_locator("iframe").first.locator(
                        f"text=Live note {width}").first.wait_for(timeout=5000)
                assert page.locator("form[method=post] input[name=csrf]").count() >= 3
                assert not _axe(page), (path, width, _axe(page))
                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= width, (path, width, wide)
                page.context.close()
        page = new_page(375, script=False)  # a form works without script
        page.goto(url + BULLETIN)
        page.fill("#reject-note", "fill in the links")
        page.locator("button", has_text="Reject").click()
        page.wait_for_load_state()
        assert "Rejected." in page.content()
        page.context.close()
        client.close()
    assert str(find_bulletin(site, SLUG).status.state) == "rejected"
