"""The whole coordinator's flow of issue 11 (section 7), in Debian's headless Chromium
against a real ``digest serve --local`` on a copy of the sample, as the README tells a
newcomer: sign in with the link read from the outbox; open the held sample bulletin and
see its seven ``#`` links by line; fix them in the browser editor; preview it at both
widths; send a test copy; approve it; the next ``digest run`` sends it once to each member
of its audience. Then, on the weekly digest made to need approval: leave an item out, write
a note, approve, and the sent emails lack the item and carry the note.

The runs are the real ``digest run --once`` (another process, as an operator or the
service would run it); the browser waits for elements and files, never for a fixed time.
"""

from __future__ import annotations

import email
import email.policy
import html
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest.config import Environment, load_settings
from digest.jobs.context import Context
from digest.store import subscribers
from digest.testing import ManualClock
from tests.conftest import ROOT, SAMPLE_BULLETIN_SLUG, run_digest
from tests.mail_server import free_port, wait_for

SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
T0 = "2019-03-18T08:00:00+01:00"  # make run's time: weekly/1 is made, the bulletin held
SEND_AT = "2019-03-18T09:00:00+01:00"  # the send_at the coordinator gives the bulletin
LATER = ("2019-03-18T09:30:00+01:00", "2019-03-18T09:45:00+01:00",
         "2019-03-18T10:00:00+01:00", "2019-03-18T10:15:00+01:00")
COORDINATOR = "coordinator@example.org"
TITLE = "Updates from WG Smart Social Inclusion"
NOTE = "A word from the editors: the flow test wrote this note."
FIXED = "https://www.eurocities.eu/"


@dataclass
class Flow:
    folder: Path
    url: str  # the console's base, http://127.0.0.1:PORT/digest

    def run(self, now: str) -> str:
        done = run_digest(self.folder, "run", "--once", now=now,
                          env={"DIGEST_SECRET_KEY": SECRET})
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return done.stdout

    def mails(self) -> dict[str, EmailMessage]:
        box = self.folder / "out" / "outbox"
        return {path.name: _message(path) for path in sorted(box.glob("*.eml"))}

    def audience(self) -> set[str]:
        """The active members of the weekly digest (the bulletins' audience), from the store."""
        ctx = Context(settings=load_settings(self.folder / "schedules.yaml"),
                      env=Environment.read({"DIGEST_SECRET_KEY": SECRET}),
                      clock=ManualClock(datetime.fromisoformat(T0)))
        try:
            with ctx.db.transaction() as connection:
                return {m.email for m in subscribers.active_for(connection, "weekly")}
        finally:
            ctx.close()


def _message(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _text(message: EmailMessage) -> str:
    """Every text part of a message (HTML and plain), decoded, entities read, and each run
    of white space as one space (the text part wraps its lines)."""
    parts = [part.get_content() for part in message.walk()
             if part.get_content_maintype() == "text"]
    return " ".join(html.unescape(" ".join(parts)).split())


def _recipient(message: EmailMessage) -> str:
    return str(message["To"].addresses[0].addr_spec).lower()


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    """The sample's config and content, its weekly digest needing approval, after the first
    run (make run's), with ``digest serve --local`` running on a free port."""
    folder = tmp_path_factory.mktemp("flow")
    port = free_port()
    config = (ROOT / "schedules.yaml").read_text()
    assert "approval: false" in config and "port: 8040" in config
    (folder / "schedules.yaml").write_text(
        config.replace("approval: false", "approval: true")
        .replace("port: 8040", f"port: {port}"))
    shutil.copytree(ROOT / "sample", folder / "sample")
    flow = Flow(folder, f"http://127.0.0.1:{port}/digest")
    summary = flow.run(T0)
    _check_summary(summary, folder)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    environment["DIGEST_SECRET_KEY"] = SECRET
    process = subprocess.Popen([sys.executable, "-m", "digest", "--now", T0, "serve", "--local"],
                               cwd=folder, env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)

    def up() -> bool:
        assert process.poll() is None, process.communicate()
        try:
            return httpx.get(f"{flow.url}/admin/login", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        assert wait_for(up, 120)
        yield flow
    finally:
        process.terminate()
        _, err = process.communicate(timeout=60)
        assert "Traceback" not in err, err


def _check_summary(summary: str, folder: Path) -> None:
    """make run's summary: the bulletin held, its seven ``#`` links at their lines, and a
    last line with the commands that open the console."""
    lines = summary.rstrip().splitlines()
    assert f"bulletin:{SAMPLE_BULLETIN_SLUG}: held: 7 lint errors" in summary
    placeholders = [line for line in lines if "points to '#'" in line]
    source = folder / "sample" / "bulletins" / f"{SAMPLE_BULLETIN_SLUG}.md"
    numbers = [int(n) for n in re.findall(rf"{re.escape(str(source))}:(\d+):", summary)]
    assert len(placeholders) == 7 and sorted(numbers) == _placeholder_lines(source)
    assert lines[-1].startswith("to review it in the console: ")
    assert f"coordinators link {COORDINATOR} --local" in lines[-1] and "serve --local" in lines[-1]


def _placeholder_lines(source: Path) -> list[int]:
    """Each ``](#)`` of the file, by the number of its line (a line may hold several)."""
    return sorted(number for number, line in enumerate(source.read_text().splitlines(), 1)
                  for _ in range(line.count("](#)")))


@pytest.fixture(scope="module")
def page(browser: Any, flow: Flow) -> Iterator[Any]:
    """A browser page signed in as the sample's coordinator, with the link the sign-in page
    sends (the file transport writes it to out/outbox), as a newcomer would."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        page.goto(f"{flow.url}/admin/")
        assert page.url == f"{flow.url}/admin/login"
        before = set(flow.mails())
        page.fill("input[name=email]", COORDINATOR)
        page.locator("form[action$='/admin/login'] button[type=submit]").click()
        page.wait_for_selector("p.flash[role=status]")
        assert wait_for(lambda: len(set(flow.mails()) - before) == 1, 30)
        (name,) = set(flow.mails()) - before
        sign_in = flow.mails()[name]
        assert _recipient(sign_in) == COORDINATOR
        link = re.search(rf"{re.escape(flow.url)}/admin/login/[A-Za-z0-9_-]+", _text(sign_in))
        assert link, _text(sign_in)
        page.goto(link.group(0))
        page.locator("form[action*='/admin/login/'] button[type=submit]").click()
        page.wait_for_url(f"{flow.url}/admin/")
        yield page
    finally:
        context.close()


def test_a_coordinator_fixes_tests_approves_and_the_run_sends_the_bulletin_once(
        flow: Flow, page: Any) -> None:
    page.goto(f"{flow.url}/admin/")
    # The overview lists the bulletin as held and links to its page, where its seven
    # placeholder links are listed with their lines.
    row = page.locator("#live-bulletins tr", has_text=TITLE)
    assert "held" in row.inner_text()
    row.get_by_role("link", name=TITLE).click()
    page.wait_for_url(f"{flow.url}/admin/bulletins/{SAMPLE_BULLETIN_SLUG}")
    source = flow.folder / "sample" / "bulletins" / f"{SAMPLE_BULLETIN_SLUG}.md"
    listed = page.locator(".preview-problems li", has_text="points to '#'")
    assert sorted(int(re.search(r":(\d+)", text).group(1))  # type: ignore[union-attr]
                  for text in listed.all_inner_texts()) == _placeholder_lines(source)

    # The browser editor: the links get a target, the bulletin a send_at; saved to its file.
    page.get_by_role("link", name="Edit bulletin").click()
    page.wait_for_url(f"{flow.url}/admin/bulletins/{SAMPLE_BULLETIN_SLUG}/edit")
    body = page.locator("#f-body")
    body.fill(body.input_value().replace("](#)", f"]({FIXED})"))
    page.fill("#f-send_at", SEND_AT)
    page.locator("button[name=do][value=save]").click()
    page.wait_for_selector("p.flash[role=status]")
    assert "](#)" not in source.read_text() and source.read_text().count(FIXED) == 7

    # The preview: no placeholder left, the email at 600 and 375 px.
    page.goto(f"{flow.url}/admin/bulletins/{SAMPLE_BULLETIN_SLUG}")
    assert page.locator(".preview-problems li", has_text="points to '#'").count() == 0
    for width in (600, 375):
        frame = page.locator(f"iframe.preview-{width}")
        box = frame.bounding_box()
        assert box is not None and abs(box["width"] - width) <= 2, (width, box)
        inside = page.frame_locator(f"iframe.preview-{width}")
        inside.locator("body", has_text=TITLE).wait_for()
        assert inside.locator("a[href='#']").count() == 0
        assert inside.locator(f"a[href='{FIXED}']").count() >= 7

    # A test copy to the coordinator: [TEST] in its subject, no delivery recorded.
    before = set(flow.mails())
    page.locator("form.test-form[action$='/test'] button[type=submit]").click()
    page.wait_for_selector("p.flash[role=status]")
    assert wait_for(lambda: len(set(flow.mails()) - before) == 1, 30)
    (name,) = set(flow.mails()) - before
    test_copy = flow.mails()[name]
    assert str(test_copy["Subject"]).startswith("[TEST]") and TITLE in str(test_copy["Subject"])
    assert _recipient(test_copy) == COORDINATOR

    # Approved: it waits for its send_at, then the next run sends it once to each member.
    page.goto(f"{flow.url}/admin/bulletins/{SAMPLE_BULLETIN_SLUG}")
    page.locator(".acting form[action$='/approve'] button[type=submit]").click()
    page.wait_for_selector("p.flash[role=status]")
    assert page.locator(".acting .state").inner_text() != "held"
    before = set(flow.mails())
    summary = flow.run(LATER[0])
    assert "to review" not in summary
    sent = [flow.mails()[n] for n in set(flow.mails()) - before]
    audience = flow.audience()
    assert audience and sorted(_recipient(m) for m in sent) == sorted(audience)
    for message in sent:
        assert TITLE in str(message["Subject"])
        assert "[TEST]" not in str(message["Subject"])
        assert FIXED in _text(message) and 'href="#"' not in _text(message)
        assert _recipient(message) != COORDINATOR
    before = set(flow.mails())
    flow.run(LATER[1])
    assert set(flow.mails()) == before, "sent once"


def test_a_coordinator_curates_a_digest_draft_and_the_sent_emails_follow_it(
        flow: Flow, page: Any) -> None:
    # The overview links the draft waiting for approval to its page.
    page.goto(f"{flow.url}/admin/")
    page.get_by_role("link", name=re.compile(r"^weekly\/1: \d+ items$")).click()
    page.wait_for_url(f"{flow.url}/admin/editions/weekly/1")
    items = page.locator(".curate-items li", has=page.locator("form[action$='/omit']"))
    first = items.first
    left_out = first.locator("span[id^=item-]").inner_text().strip()
    assert left_out
    # It is in the email before it is left out (the frame at 600 px).
    page.frame_locator("iframe.preview-600").locator("body", has_text=left_out).wait_for()
    first.locator("form[action$='/omit'] button").click()
    page.wait_for_selector("p.flash[role=status]")
    page.goto(f"{flow.url}/admin/editions/weekly/1")
    page.fill("#curate-note", NOTE)
    page.locator("form[action$='/note'] button[type=submit]").click()
    page.wait_for_selector("p.flash[role=status]")
    page.goto(f"{flow.url}/admin/editions/weekly/1")
    page.frame_locator("iframe.preview-600").locator("body", has_text=NOTE).wait_for()
    page.locator(".acting form[action$='/approve'] button[type=submit]").click()
    page.wait_for_selector("p.flash[role=status]")

    before = set(flow.mails())
    summary = flow.run(LATER[2])
    assert "weekly/1" in summary
    sent = [flow.mails()[n] for n in set(flow.mails()) - before]
    assert sent and all(_recipient(m) in flow.audience() for m in sent)
    assert len({_recipient(m) for m in sent}) == len(sent)
    for message in sent:
        text = _text(message)
        assert NOTE in text, _recipient(message)
        assert left_out not in text, _recipient(message)
    before = set(flow.mails())
    flow.run(LATER[3])
    assert set(flow.mails()) == before, "sent once"


# ------------------------------------------------- the pieces of the newcomer's path


def test_a_local_link_points_at_this_machine_and_the_public_one_at_base_url(
        project: Path) -> None:
    for flag, start in (("--local", "http://127.0.0.1:8040/digest/admin/login/"),
                        (None, "https://forum.example.org/digest/admin/login/")):
        done = run_digest(project, "coordinators", "link", COORDINATOR,
                          *([flag] if flag else []), env={"DIGEST_SECRET_KEY": SECRET})
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0].startswith(start), done.stdout


def test_served_locally_listens_on_loopback_only_and_keeps_the_base_path(
        project: Path) -> None:
    from digest.config.local import served_locally

    config = project / "schedules.yaml"
    for host, base in (("0.0.0.0", "https://forum.example.org/digest"),
                       ("::", "http://example.org"), ("127.0.0.1", "https://a.example/x/y/")):
        text = re.sub(r"base_url: \S+", f"base_url: {base}", config.read_text())
        config.write_text(re.sub(r"web: \{host: [^,]+,", f"web: {{host: '{host}',", text))
        local = served_locally(load_settings(config))
        path = base.split("://", 1)[1].partition("/")[2].rstrip("/")
        assert local.web.host == "127.0.0.1" and local.web.port == 8040
        assert local.site.base_url == "http://127.0.0.1:8040" + (f"/{path}" if path else "")
        assert load_settings(config).site.base_url == base.rstrip("/"), "the file unchanged"


def test_the_review_hint_names_a_coordinator_or_says_how_to_add_one(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from digest.cli.run import invoked_as, review_hint

    settings = load_settings(project / "schedules.yaml")
    hint = review_hint(settings, 1, ".venv/bin/digest")
    assert hint.startswith("to review it in the console: ")
    assert (f"`.venv/bin/digest coordinators link {COORDINATOR} --local && "
            ".venv/bin/digest serve --local`") in hint
    assert review_hint(settings, 2, "digest").startswith("to review them in the console")
    alone = settings.model_copy(update={"coordinators": []})
    assert "add yourself to `coordinators:` in schedules.yaml" in review_hint(alone, 1, "x")
    monkeypatch.setattr(sys, "argv", [".venv/bin/digest", "run"])
    monkeypatch.setenv("PATH", "/nonexistent")
    assert invoked_as() == ".venv/bin/digest"
    monkeypatch.setattr(sys, "argv", [str(Path(sys.executable).parent / "__main__.py")])
    assert invoked_as() == "digest"
