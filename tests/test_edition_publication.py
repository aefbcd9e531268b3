"""Nothing unapproved is published (issue 11, section 3, for digests as for bulletins): a
draft of a digest with ``approval: true`` has no folder under ``out/editions/``, is not in
its archive page or any feed, and ``digest serve`` answers 404 for it, before and after it
is curated; its coordinators' [TEST] copy links to the console, not to a web version that
is not there. Once approved, the run (or ``digest send``) that sends it publishes it,
curated; a cancelled draft leaves nothing public."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from digest.config import Environment, load_settings
from digest.jobs import curation, edition_actions, manual
from digest.jobs.build import build
from digest.jobs.collect import collect
from digest.jobs.context import Context
from digest.jobs.copies import send_test
from digest.jobs.run import run_once
from digest.models import RunReport
from digest.testing import ManualClock
from tests.conftest import SAMPLE_NOW
from tests.web_app_server import serving

SECRET = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
LABEL, WEB, PDF = "weekly/1", "/editions/weekly/1/", "/editions/weekly/1/weekly-1.pdf"
NOTE = "**Welcome back.** The forum meets next week."


def _context(project: Path) -> Context:
    config = project / "schedules.yaml"
    text = config.read_text()
    if "approval: true" not in text:
        config.write_text(text.replace("max_items: 40", "max_items: 5").replace(
            "approval: false", "approval: true\n    coordinators: [coordinator@example.org]"))
    return Context(settings=load_settings(config),
                   env=Environment.read({"DIGEST_SECRET_KEY": SECRET}),
                   clock=ManualClock(datetime.fromisoformat(SAMPLE_NOW)))


@contextmanager
def _served(project: Path) -> Iterator[httpx.Client]:
    with serving(_context(project)) as base, httpx.Client(base_url=base) as client:
        yield client


def _public_texts(ctx: Context) -> dict[str, str]:
    """Every file ``digest serve`` publishes, by path (PDFs as latin-1 text)."""
    found = {}
    for folder in (ctx.settings.out_dir / "editions", ctx.settings.out_dir / "bulletins",
                   ctx.settings.feeds_dir):
        for path in folder.rglob("*") if folder.is_dir() else ():
            if path.is_file():
                found[str(path)] = path.read_bytes().decode("latin-1")
    return found


def _assert_unpublished(ctx: Context, project: Path) -> None:
    folder = ctx.settings.out_dir / "editions" / "weekly" / "1"
    assert not folder.exists(), "no folder for the draft where `digest serve` serves"
    naming = [path for path, text in _public_texts(ctx).items()
              if WEB in text or "weekly-1.pdf" in text]
    assert naming == [], "no archive page or feed names the draft"
    with _served(project) as client:
        assert client.get(WEB).status_code == 404
        assert client.get(PDF).status_code == 404
        archive = client.get("/editions/weekly/")
        assert WEB not in archive.text


def _outbox(ctx: Context) -> list[email.message.Message]:
    return [email.message_from_bytes(path.read_bytes())
            for path in sorted((ctx.settings.out_dir / "outbox").glob("*.eml"))]


def _bodies(message: email.message.Message) -> str:
    parts = []
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            parts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(parts)


def test_a_draft_is_public_only_once_approved_and_sent_curated(project: Path) -> None:
    ctx = _context(project)
    summary = run_once(ctx)
    assert manual.find_edition(ctx, LABEL).status == "draft"
    assert any("/admin/editions/weekly/1" in line for line in summary.editions)
    _assert_unpublished(ctx, project)

    # The coordinator's [TEST] copy links to the console page, never to the web version.
    copies = [m for m in _outbox(ctx) if str(m["Subject"]).startswith("[TEST]")]
    assert len(copies) == 1 and "coordinator@example.org" in str(copies[0]["To"])
    body = _bodies(copies[0])
    assert "/admin/editions/weekly/1" in body and WEB not in body and "weekly-1.pdf" not in body

    # Curated: still nothing public.
    row = manual.find_edition(ctx, LABEL)
    omitted = row.item_keys[0]
    state = curation.omit(ctx, LABEL, omitted, "ana@example.org")
    title = state.omitted_items[0].title
    curation.set_note(ctx, LABEL, NOTE, "ana@example.org")
    _assert_unpublished(ctx, project)

    # Approved: the run that sends it publishes it, with the curation and what max_items cut.
    manual.approve(ctx, manual.find_edition(ctx, LABEL))
    _assert_unpublished(ctx, project)  # approval alone publishes nothing
    report = run_once(ctx)
    assert manual.find_edition(ctx, LABEL).status == "sent"
    folder = ctx.settings.out_dir / "editions" / "weekly" / "1"
    assert {p.name for p in folder.iterdir()} >= {"index.html", "weekly-1.pdf", "email.html"}
    assert any(path == str(folder / "index.html") for _, path in report.outputs)
    page = (folder / "index.html").read_text()
    assert "Welcome back." in page and title not in page
    assert len(re.findall(r'<article class="item">', page)) > 5, "the overflow is listed"
    with _served(project) as client:
        assert client.get(WEB).status_code == 200 and "Welcome back." in client.get(WEB).text
        assert client.get(PDF).content.startswith(b"%PDF-")
        assert WEB in client.get("/editions/weekly/").text
    ctx.close()


def test_digest_send_publishes_an_approved_draft_as_it_sends_it(project: Path) -> None:
    ctx = _context(project)
    run_once(ctx)
    manual.approve(ctx, manual.find_edition(ctx, LABEL))
    report = RunReport()
    outcome = manual.send_now(ctx, manual.find_edition(ctx, LABEL), report)
    assert outcome.sent > 0
    folder = ctx.settings.out_dir / "editions" / "weekly" / "1"
    assert (folder / "index.html").is_file() and (folder / "weekly-1.pdf").is_file()
    archive = (folder.parent / "index.html").read_text()
    assert WEB in archive, "listed once it is being sent"
    ctx.close()


@pytest.mark.parametrize("stale", [False, True])
def test_a_cancelled_draft_leaves_nothing_public(project: Path, stale: bool) -> None:
    ctx = _context(project)
    run_once(ctx)
    folder = ctx.settings.out_dir / "editions" / "weekly" / "1"
    if stale:  # as an earlier version wrote it, and an archive listing it
        folder.mkdir(parents=True)
        (folder / "index.html").write_text("an unapproved draft")
        (folder.parent / "index.html").write_text(f'<a href="{WEB}">draft</a>')
    edition_actions.cancel(ctx, LABEL, "ana@example.org", "not this week")
    _assert_unpublished(ctx, project)
    run_once(ctx)
    _assert_unpublished(ctx, project)
    ctx.close()


def test_a_run_withdraws_a_draft_folder_an_earlier_version_published(project: Path) -> None:
    ctx = _context(project)
    folder = ctx.settings.out_dir / "editions" / "weekly" / "1"
    folder.mkdir(parents=True)
    (folder / "weekly-1.pdf").write_bytes(b"%PDF-an unapproved draft")
    run_once(ctx)
    assert manual.find_edition(ctx, LABEL).status == "draft"
    _assert_unpublished(ctx, project)
    ctx.close()


def test_build_into_out_does_not_publish_an_edition_that_needs_approval(
        project: Path, tmp_path: Path) -> None:
    ctx = _context(project)
    collect(ctx, RunReport())
    report = build(ctx, ctx.settings.out_dir)
    assert any("not written" in line for line in report.editions)
    assert not (ctx.settings.out_dir / "editions" / "weekly" / "1").exists()
    elsewhere = tmp_path / "preview"
    build(ctx, elsewhere)
    assert (elsewhere / "editions" / "weekly" / "1" / "index.html").is_file()
    ctx.close()


def test_a_test_copy_links_to_the_console_until_the_edition_is_public(project: Path) -> None:
    ctx = _context(project)
    run_once(ctx)

    def copy_body() -> str:
        before = {p.name for p in (ctx.settings.out_dir / "outbox").glob("*.eml")}
        send_test(ctx, LABEL, ["tester@example.org"], None, "ana@example.org")
        new = [p for p in (ctx.settings.out_dir / "outbox").glob("*.eml")
               if p.name not in before]
        assert len(new) == 1
        return _bodies(email.message_from_bytes(new[0].read_bytes()))

    body = copy_body()
    assert "/admin/editions/weekly/1" in body and WEB not in body
    manual.approve(ctx, manual.find_edition(ctx, LABEL))
    run_once(ctx)
    body = copy_body()  # sent: its web version is there now
    assert WEB in body and "/admin/editions/weekly/1" not in body
    ctx.close()
