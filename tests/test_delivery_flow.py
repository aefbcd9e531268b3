"""Editions across runs: resumed when a run stops half-way, approval, members who leave,
bulletins sent once, one broken input never holding back the rest."""

from __future__ import annotations

import email
import re
from pathlib import Path

from tests.conftest import approve_sample_bulletin, run_digest

NEXT_MONDAY = "2019-03-25T09:00:00+01:00"


def _recipients(project: Path) -> list[str]:
    return sorted(email.message_from_bytes(p.read_bytes())["To"]
                  for p in (project / "out" / "outbox").glob("*.eml"))


def test_a_half_sent_edition_is_resumed_by_a_later_run(project: Path) -> None:
    approve_sample_bulletin(project)
    (project / "out").mkdir()
    (project / "out" / "outbox").write_text("a file where the outbox folder should be")
    first = run_digest(project, "run", "--once")
    assert first.returncode == 1
    assert "weekly/1: 0 refused, 5 deferred" in first.stdout
    assert "weekly/1 [sending] Social Affairs weekly: 5 pending" in run_digest(
        project, "status").stdout
    (project / "out" / "outbox").unlink()
    # A member leaves while the edition waits: their message is cancelled, not sent.
    run_digest(project, "subscribers", "remove", "lucia.marin@example.net")
    later = run_digest(project, "run", "--once", now=NEXT_MONDAY)
    assert later.returncode == 0, later.stdout + later.stderr
    status = run_digest(project, "status", now=NEXT_MONDAY).stdout
    assert "weekly/1 [sent] Social Affairs weekly: 1 cancelled, 4 sent" in status
    recipients = _recipients(project)
    assert not any("lucia.marin" in r for r in recipients)
    assert len(recipients) == 4 + 5  # weekly/1 to four members, the bulletin to five
    assert len(set(recipients)) == 5
    again = run_digest(project, "run", "--once", now=NEXT_MONDAY)
    assert "messages sent: 0" in again.stdout


def test_an_edition_waiting_for_approval_is_sent_after_approve(project: Path) -> None:
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace("approval: false", "approval: true"))
    first = run_digest(project, "run", "--once")
    assert "weekly/1: draft of 17 items, waiting for `digest approve weekly/1`" in first.stdout
    refused = run_digest(project, "send", "weekly/1")
    assert refused.returncode == 2 and "approve it first" in refused.stderr
    assert run_digest(project, "approve", "weekly/1").returncode == 0
    assert run_digest(project, "approve", "weekly/1").returncode == 2
    sent = run_digest(project, "run", "--once")
    assert "weekly/1: 17 items, 5 variants" in sent.stdout  # (language, themes) pairs
    assert "weekly/1 [sent] Social Affairs weekly: 5 sent" in run_digest(
        project, "status").stdout


def test_a_bulletin_is_sent_once_even_when_its_date_is_edited(project: Path) -> None:
    approve_sample_bulletin(project)
    assert "bulletin:2019-03-wg-smart-social-inclusion/1: bulletin" in run_digest(
        project, "run", "--once").stdout
    bulletin = project / "sample" / "bulletins" / "2019-03-wg-smart-social-inclusion.md"
    bulletin.write_text(bulletin.read_text().replace("date: 2019-03-25", "date: 2019-03-26"))
    again = run_digest(project, "run", "--once")
    assert "messages sent: 0" in again.stdout
    status = run_digest(project, "status").stdout.split("editions:")[1].split("bulletins:")[0]
    assert status.count("bulletin:") == 1


def test_a_broken_bulletin_is_reported_and_the_others_still_go_out(project: Path) -> None:
    approve_sample_bulletin(project)
    (project / "sample" / "bulletins" / "0-broken.md").write_text("---\ntitle: [x\n---\nbody\n")
    result = run_digest(project, "run", "--once")
    assert result.returncode == 1
    assert "problem: " in result.stdout and "0-broken.md" in result.stdout
    assert "bulletin:2019-03-wg-smart-social-inclusion/1: bulletin" in result.stdout
    assert "weekly/1: 17 items" in result.stdout


def test_reserved_theme_slugs_and_missing_secrets_are_refused_up_front(project: Path) -> None:
    config = project / "schedules.yaml"
    original = config.read_text()
    config.write_text(re.sub(r"^themes:.*$", "\\g<0>\n  index: {title: Index}", original,
                             count=1, flags=re.M))
    result = run_digest(project, "run", "--once")
    assert result.returncode == 2 and "themes.index: 'index' is reserved" in result.stderr
    config.write_text(original.replace("transport: file", "transport: smtp"))
    result = run_digest(project, "run", "--once")
    assert result.returncode == 2 and "DIGEST_SMTP_URL" in result.stderr
    assert not (project / "var").exists()


def test_an_unwritable_output_root_is_one_line_not_a_traceback(project: Path) -> None:
    config = project / "schedules.yaml"
    (project / "blocked").write_text("a file, not a folder")
    config.write_text(config.read_text().replace("output: .", "output: blocked"))
    result = run_digest(project, "status")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("digest: cannot create the database folder")
