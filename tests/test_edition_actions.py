"""A coordinator's hand on an edition (SQLite and PostgreSQL): a pause stops the sender
between messages and runs leave the edition alone until it is resumed; a cancel is refused
once a message went out, and before that leaves nothing sent and the items to the next
edition; test copies go to several addresses as a chosen variant and are never
deliveries; each action is in the audit log. Then the commands, as a coordinator types
them."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

import pytest

from digest.config import load_settings
from digest.errors import InputError
from digest.identifiers import VariantKey
from digest.jobs import edition_actions, manual
from digest.jobs import editions as edition_jobs
from digest.jobs.collect import collect, ensure_subscribers
from digest.jobs.context import Context
from digest.jobs.copies import send_test
from digest.jobs.run import run_once
from digest.mail.envelope import Envelope
from digest.mail.transports.files import FileTransport
from digest.models import RunReport
from digest.store import audit, deliveries, editions
from digest.testing import ManualClock
from tests.conftest import SAMPLE_BULLETIN_SLUG, run_digest

APPROVER = "approver@example.org"
NEXT_MONDAY = datetime.fromisoformat("2019-03-25T08:00:00+01:00")


def _with_config(ctx: Context, old: str, new: str) -> Context:
    config = ctx.settings.config_path
    text = config.read_text()
    assert old in text, old
    config.write_text(text.replace(old, new))
    return replace(ctx, settings=load_settings(config))


class PausingTransport:
    """The file transport, and a coordinator pausing the edition once one message went."""

    def __init__(self, ctx: Context, label: str) -> None:
        self.inner = FileTransport(ctx.settings.out_dir / "outbox")
        self.ctx, self.label, self.sent = ctx, label, 0

    def send(self, envelope: Envelope) -> str:
        answer = self.inner.send(envelope)
        self.sent += 1
        if self.sent == 1:
            edition_actions.pause(self.ctx, self.label, APPROVER)
        return answer

    def close(self) -> None:
        self.inner.close()


def _counts(ctx: Context, label: str) -> tuple[str, dict[str, int]]:
    row = manual.find_edition(ctx, label)
    with ctx.db.transaction() as connection:
        return str(row.status), deliveries.counts(connection, row.id)


def _actions(ctx: Context, target: str) -> list[str]:
    with ctx.db.transaction() as connection:
        return [entry.action for entry in audit.for_target(connection, target)]


def test_a_paused_edition_stops_sending_until_resumed(sample_ctx: Context) -> None:
    ctx = _with_config(sample_ctx, "concurrency: 4", "concurrency: 1")
    report = RunReport()
    ensure_subscribers(ctx, report)
    collect(ctx, report)
    transport = PausingTransport(ctx, "weekly/1")
    digest = ctx.settings.digest("weekly")
    assert digest is not None
    edition_jobs.run_digest(ctx, digest, report, transport)
    assert transport.sent == 1, "the sender stopped after the message in flight"
    assert _counts(ctx, "weekly/1") == ("paused", {"sent": 1, "pending": 4})
    assert "weekly/1: paused by a coordinator after 1 sent this run" in "\n".join(
        report.editions)
    assert not report.failed, "a pause is not a failure"

    assert run_once(ctx).sent == 0, "runs leave a paused edition alone"
    with pytest.raises(InputError, match="paused"):
        manual.check_sendable(manual.find_edition(ctx, "weekly/1"))
    with pytest.raises(InputError, match="sending has started"):
        edition_actions.cancel(ctx, "weekly/1", APPROVER)
    with pytest.raises(InputError, match="only an approved edition or one being sent"):
        edition_actions.pause(ctx, "weekly/1", APPROVER)

    assert edition_actions.resume(ctx, "weekly/1", APPROVER).status == editions.SENDING
    assert run_once(ctx).sent == 4
    assert _counts(ctx, "weekly/1") == ("sent", {"sent": 5})
    with pytest.raises(InputError, match="not paused"):
        edition_actions.resume(ctx, "weekly/1", APPROVER)
    with pytest.raises(InputError, match="sent"):
        edition_actions.cancel(ctx, "weekly/1", APPROVER)
    assert edition_actions.retry_failed(ctx, "weekly/1", APPROVER) == 0
    assert _actions(ctx, "weekly/1") == ["retry-failed", "resume", "pause"]
    ctx.close()


def test_a_cancelled_edition_is_never_sent_and_its_items_go_to_the_next(
        sample_ctx: Context) -> None:
    ctx = _with_config(sample_ctx, "approval: false", "approval: true")
    run_once(ctx)
    first = manual.find_edition(ctx, "weekly/1")
    assert first.status == editions.DRAFT and first.item_keys
    row = edition_actions.cancel(ctx, "weekly/1", APPROVER, reason="wrong week")
    assert row.status == editions.CANCELLED
    assert _counts(ctx, "weekly/1") == ("cancelled", {"cancelled": 5})
    with pytest.raises(InputError, match="not a draft"):
        edition_actions.approve(ctx, "weekly/1", APPROVER)
    with pytest.raises(InputError, match="cannot be cancelled"):
        edition_actions.cancel(ctx, "weekly/1", APPROVER)
    assert run_once(ctx).sent == 0
    assert not list((ctx.settings.out_dir / "outbox").glob("*.eml"))
    with ctx.db.transaction() as connection:
        [entry] = audit.for_target(connection, "weekly/1")
    assert (entry.actor, entry.action, entry.reason) == (APPROVER, "cancel", "wrong week")
    assert "5 messages cancelled" in (entry.detail or "")

    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.set(NEXT_MONDAY)
    run_once(ctx)
    second = manual.find_edition(ctx, "weekly/2")
    # Measured as if the cancelled edition never was (its items not taken; those within the
    # digest's max_age are in the next one).
    assert second.period_start is None
    assert set(first.item_keys) & set(second.item_keys)
    with ctx.db.transaction() as connection:
        assert editions.cursor_edition(connection, "weekly") is None
    ctx.close()


def _message(path: str) -> Message:
    return email.message_from_bytes(Path(path).read_bytes())


def _subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_test_copies_of_a_bulletin_without_edition_and_of_a_variant(
        sample_ctx: Context) -> None:
    ctx = sample_ctx
    bulletin = f"bulletin:{SAMPLE_BULLETIN_SLUG}"
    copy = send_test(ctx, bulletin, ["editor@example.org", " second@example.org",
                                     "editor@example.org", ""], None, APPROVER)
    assert [address for address, _ in copy.answers] == ["editor@example.org",
                                                        "second@example.org"]
    for address, answer in copy.answers:
        message = _message(answer)
        assert _subject(message).startswith("[TEST] Updates from WG Smart Social Inclusion")
        assert address in message["To"]
    with ctx.db.transaction() as connection:
        assert editions.latest(connection, bulletin) is None, "no edition, no delivery"
        [entry] = audit.for_target(connection, bulletin)
    assert entry.action == "test-send" and "editor@example.org, second@example.org" in (
        entry.detail or "")
    for bad in ([], ["not an address"], [f"m{n}@example.org" for n in range(21)]):
        with pytest.raises(InputError):
            send_test(ctx, bulletin, bad, None, APPROVER)

    run_once(ctx)
    with ctx.db.transaction() as connection:
        before = deliveries.counts(connection, manual.find_edition(ctx, "weekly/1").id)
    member = next(_message(str(p)) for p in (ctx.settings.out_dir / "outbox").glob("*.eml")
                  if "francois.lefevre" in _message(str(p))["To"]
                  and "weekly" in _subject(_message(str(p))))
    variant = VariantKey.of(["cooperation"], "fr")  # François's own variant
    copy = send_test(ctx, "weekly/1", ["editor@example.org"], variant, APPROVER)
    [(_, answer)] = copy.answers
    message = _message(answer)
    assert message["Content-Language"] == "fr" == member["Content-Language"]
    assert _subject(message) == "[TEST] " + _subject(member)
    full = _message(send_test(ctx, "weekly/1", ["editor@example.org"], None,
                              APPROVER).answers[0][1])
    assert full["Content-Language"] == "en"
    with ctx.db.transaction() as connection:
        assert deliveries.counts(connection, manual.find_edition(ctx, "weekly/1").id) == before
    assert _actions(ctx, "weekly/1") == ["test-send", "test-send"]
    with pytest.raises(InputError, match="nothing for the variant"):
        send_test(ctx, "weekly/1", ["editor@example.org"], VariantKey.of(["nope"]), APPROVER)


def test_the_commands_a_coordinator_types(project: Path) -> None:
    slug = SAMPLE_BULLETIN_SLUG
    held = run_digest(project, "approve", f"bulletin:{slug}")
    assert held.returncode == 2 and "7 lint errors" in held.stderr
    assert run_digest(project, "reject", f"bulletin:{slug}").returncode == 2  # --note needed
    rejected = run_digest(project, "reject", f"bulletin:{slug}", "--note", "fix the links")
    assert rejected.returncode == 0 and "rejected by cli: fix the links" in rejected.stdout
    status = run_digest(project, "status").stdout
    assert f"bulletin:{slug} [rejected]" in status
    approved = run_digest(project, "approve", f"bulletin:{slug}", "--reason", "known links")
    assert approved.returncode == 0, approved.stderr
    assert "approved, overriding 7 lint errors" in approved.stdout
    tested = run_digest(project, "send", f"bulletin:{slug}", "--test", "me@example.org")
    assert tested.returncode == 0 and "sent to me@example.org" in tested.stdout
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace("approval: false", "approval: true"))
    run_digest(project, "run", "--once")
    assert run_digest(project, "pause", "weekly/1").returncode == 2  # a draft
    assert run_digest(project, "approve", "weekly/1").returncode == 0
    assert "weekly/1: now paused" in run_digest(project, "pause", "weekly/1").stdout
    assert "weekly/1: now sending" in run_digest(project, "resume", "weekly/1").stdout
    assert "weekly/1: now cancelled" in run_digest(project, "cancel", "weekly/1").stdout
    status = run_digest(project, "status").stdout
    assert "weekly/1 [cancelled]" in status and f"bulletin:{slug}/1 [sent]" in status


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_draft_with_lint_errors_is_approved_only_with_a_reason(
        sample_ctx: Context, reason: str | None) -> None:
    """A draft whose email has an error (here a placeholder link in the editor's note) is
    held as a bulletin would be; a written reason lets it go and is recorded."""
    from digest.jobs import curation

    ctx = _with_config(sample_ctx, "approval: false", "approval: true")
    run_once(ctx)
    curation.set_note(ctx, "weekly/1", "Read [the agenda](#) first.", APPROVER)
    with pytest.raises(InputError, match=r"lint error.*'#'.*give a reason"):
        edition_actions.approve(ctx, "weekly/1", APPROVER, reason)
    assert manual.find_edition(ctx, "weekly/1").status == editions.DRAFT
    assert "approve" not in _actions(ctx, "weekly/1")

    row = edition_actions.approve(ctx, "weekly/1", APPROVER, "the agenda link comes later")
    assert row.status == editions.APPROVED
    with ctx.db.transaction() as connection:
        approval = audit.for_target(connection, "weekly/1")[0]
    assert (approval.action, approval.reason) == ("approve", "the agenda link comes later")
    ctx.close()


def test_a_clean_draft_is_approved_without_a_reason(sample_ctx: Context) -> None:
    ctx = _with_config(sample_ctx, "approval: false", "approval: true")
    run_once(ctx)
    assert edition_actions.approve(ctx, "weekly/1", APPROVER).status == editions.APPROVED
    ctx.close()
