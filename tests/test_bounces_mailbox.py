"""Bounces and complaints read from a real mailbox: Dovecot over IMAP (started by the test)
and a Maildir. Reports are matched by VERP and by Message-ID, stored once, and change
members: hard bounced at once, soft after ``soft_limit`` deliveries, complaints
unsubscribed; the next messages skip them, and ``digest status`` counts them."""

from __future__ import annotations

import email
import imaplib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from digest.bounces.mailboxes import ImapMailbox
from digest.bounces.verp import read_verp, verp_address
from digest.config import Environment, load_settings
from digest.jobs.bounces import read_bounces, read_for_run
from digest.jobs.context import Context
from digest.jobs.run import run_once
from digest.jobs.status import store_status
from digest.models import RunReport, SubscriberStatus
from digest.store import subscribers
from digest.store.schema import deliveries
from digest.testing import ManualClock, MemoryTransport
from tests.bounce_messages import arf, dsn
from tests.conftest import SAMPLE_NOW, approve_sample_bulletin, reset_postgres, run_digest
from tests.imap_server import PASSWORD, Dovecot, dovecot  # noqa: F401 (a fixture)
from tests.mail_server import smtp_server

SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
ANNA, FRANCOIS, CLAIRE = ("anna.kowalska@example.org", "francois.lefevre@example.net",
                          "claire.martin@example.com")


def _configure(project: Path, bounces: str) -> None:
    config = project / "schedules.yaml"
    config.write_text(config.read_text() + f"bounces: {bounces}\n")


def _message_id_to(project: Path, address: str) -> str:
    """The Message-ID of the message the outbox holds for ``address``."""
    for path in (project / "out" / "outbox").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes())
        if address in message["To"]:
            return str(message["Message-ID"])
    raise AssertionError(f"no message to {address}")


def _statuses(project: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    listed = run_digest(project, "subscribers", "list", env=env).stdout
    return {line.split()[0]: line for line in listed.splitlines() if "@" in line}


def test_an_imap_bounce_marks_its_member_and_the_next_message_skips_them(
        project: Path, dovecot: Dovecot) -> None:  # noqa: F811 (the fixture)
    _configure(project, f"{{imap: '{dovecot.url}', soft_limit: 2}}")
    env = {"DIGEST_BOUNCES_PASSWORD": PASSWORD}
    first = run_digest(project, "run", "--once", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "bounces: 0 read" in first.stdout
    # Found by the original Message-ID alone: the server reports another address.
    dovecot.append(
        dsn(recipient="a.kowalska@mailhost.example.org",
            original_message_id=_message_id_to(project, ANNA), report_id="<hard@mx>"),
        arf(recipient="someone@isp.example.net",
            original_message_id=_message_id_to(project, FRANCOIS)),
        dsn(recipient="stranger@example.net", original_message_id="<unknown@elsewhere>"),
        b"From: claire.martin@example.com\r\nSubject: Out of office\r\n\r\nBack soon.\r\n")
    read = run_digest(project, "bounces", env=env)
    assert read.returncode == 0, read.stderr
    assert ("bounces: 4 read: 1 hard, 0 soft, 1 complaints, 1 unmatched; members marked "
            "bounced 1, unsubscribed 1; 1 not a report") in read.stdout
    assert "not a report: message 4: not a delivery or abuse report (text/plain)" in read.stdout
    assert dovecot.unseen() == 0
    statuses = _statuses(project)
    assert "bounced" in statuses[ANNA] and "unsubscribed" in statuses[FRANCOIS]
    assert "active" in statuses[CLAIRE]
    # The same report delivered again (its own Message-ID) counts nothing twice.
    dovecot.append(dsn(original_message_id="<x@y>", report_id="<hard@mx>"))
    again = run_digest(project, "bounces", env=env)
    assert "bounces: 1 read: 0 hard, 0 soft, 0 complaints, 0 unmatched" in again.stdout
    assert "1 read before" in again.stdout
    status = run_digest(project, "status", env=env).stdout
    assert "bounces: 1 hard, 0 soft, 1 complaints, 1 unmatched; members bounced: 1" in status
    # The next message (the bulletin, once approved) goes to neither of them.
    approve_sample_bulletin(project, env=env)
    shutil.rmtree(project / "out" / "outbox")
    later = run_digest(project, "run", "--once", env=env)
    assert later.returncode == 0, later.stdout + later.stderr
    recipients = {email.message_from_bytes(p.read_bytes())["To"]
                  for p in (project / "out" / "outbox").glob("*.eml")}
    assert recipients and not any(ANNA in r or FRANCOIS in r for r in recipients)
    assert any(CLAIRE in r for r in recipients)


def test_the_return_path_a_server_was_given_brings_the_bounce_back_to_its_member(
        project: Path, dovecot: Dovecot) -> None:  # noqa: F811
    """SMTP to IMAP: each MAIL FROM is the delivery's VERP address; the server's later
    bounce, sent to that address and naming nothing else, marks that member."""
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace("transport: file", "transport: smtp"))
    _configure(project, f"{{imap: '{dovecot.url}', return_path: bounces@example.org}}")
    with smtp_server() as (handler, url):
        env = {"DIGEST_SMTP_URL": url, "DIGEST_BOUNCES_PASSWORD": PASSWORD,
               "DIGEST_SECRET_KEY": SECRET}
        sent = run_digest(project, "run", "--once", env=env)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        senders = {m.rcpt_tos[0]: m.mail_from for m in handler.accepted}
    assert len(set(senders.values())) == len(senders) >= 5  # one return path per message
    assert all(s.startswith("bounces+") and s.endswith("@example.org")
               for s in senders.values())
    assert all(b"From: Social Affairs Forum <forum@example.org>" in m.data
               for m in handler.accepted)
    dovecot.append(dsn(to=senders[CLAIRE], recipient="postmaster@relay.example",
                       original_message_id=None))
    read = run_digest(project, "bounces", env=env)
    assert "bounces: 1 read: 1 hard" in read.stdout, read.stdout + read.stderr
    statuses = _statuses(project, env)
    assert "bounced" in statuses[CLAIRE] and "active" in statuses[ANNA]


def test_a_mailbox_that_cannot_be_read_is_one_problem_of_the_run(
        project: Path, dovecot: Dovecot) -> None:  # noqa: F811
    _configure(project, f"{{imap: '{dovecot.url}'}}")
    wrong = run_digest(project, "run", "--once", env={"DIGEST_BOUNCES_PASSWORD": "wrong"})
    assert wrong.returncode == 1
    assert f"problem: bounce mailbox {dovecot.url}: login refused" in wrong.stdout
    assert "wrong" not in wrong.stdout  # the password is never shown
    assert "edition weekly/1: 17 items" in wrong.stdout  # the edition went out all the same
    unset = run_digest(project, "bounces")
    assert unset.returncode == 1
    assert "DIGEST_BOUNCES_PASSWORD is not set" in unset.stderr


def test_bounces_without_a_mailbox_configured_is_refused(project: Path) -> None:
    refused = run_digest(project, "bounces")
    assert refused.returncode == 2
    assert "no `bounces:` section in the config" in refused.stderr


# ------------------------------------------------------------------ in process, Maildir


@pytest.fixture(params=["sqlite", "postgres"])
def maildir_ctx(request: pytest.FixtureRequest, project: Path) -> Iterator[Context]:
    """The sample with a Maildir bounce mailbox, VERP and ``soft_limit: 2``; its messages
    handed to a ``MemoryTransport`` (``ctx.sent``)."""
    for sub in ("new", "cur", "tmp"):
        (project / "bounces" / sub).mkdir(parents=True)
    _configure(project, "{maildir: bounces, soft_limit: 2, return_path: bounces@example.org}")
    environ = {"DIGEST_SECRET_KEY": SECRET}
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
        environ["DIGEST_DATABASE_URL"] = url
    ctx = _MemoryContext(settings=load_settings(project / "schedules.yaml"),
                         env=Environment.read(environ),
                         clock=ManualClock(datetime.fromisoformat(SAMPLE_NOW)))
    yield ctx
    ctx.close()


class _MemoryContext(Context):
    transport = MemoryTransport()

    @contextmanager
    def open_transport(self) -> Iterator[Any]:
        yield self.transport


def _drop(ctx: Context, name: str, message: bytes) -> Path:
    path = ctx.settings.base_dir / "bounces" / "new" / name
    path.write_bytes(message)
    return path


def _member(ctx: Context, address: str) -> Any:
    with ctx.db.transaction() as connection:
        return subscribers.by_email(connection, address)


def test_every_message_carries_its_delivery_in_a_verp_return_path(
        maildir_ctx: Context) -> None:
    ctx = maildir_ctx
    assert isinstance(ctx, _MemoryContext)
    ctx.transport.sent.clear()
    run_once(ctx)
    with ctx.db.transaction() as connection:
        rows = {row.message_id: row.id for row in connection.execute(
            select(deliveries.c.id, deliveries.c.message_id))}
    assert len(ctx.transport.sent) == len(rows) >= 5
    for envelope in ctx.transport.sent:
        delivery_id = rows[envelope.message_id]
        assert envelope.sender == verp_address(ctx.secret, delivery_id, "bounces@example.org")
        assert read_verp(ctx.secret, envelope.sender, "bounces@example.org") == delivery_id
        assert b"From: Social Affairs Forum <forum@example.org>" in envelope.data


def _verp_of(ctx: Context, address: str) -> str:
    assert isinstance(ctx, _MemoryContext)
    return next(e.sender for e in ctx.transport.sent if e.recipient == address)


def test_maildir_reports_match_by_verp_soft_ones_count_per_delivery(
        maildir_ctx: Context) -> None:
    ctx = maildir_ctx
    assert isinstance(ctx, _MemoryContext)
    ctx.transport.sent.clear()
    run_once(ctx)
    claire_verp = _verp_of(ctx, CLAIRE)
    # No Message-ID and another address: only the return path names Claire's delivery.
    hard = _drop(ctx, "1.hard", dsn(to=_verp_of(ctx, ANNA), recipient="x@relay.example",
                                    original_message_id=None))
    _drop(ctx, "2.delay", dsn(to=claire_verp, recipient="x@relay.example", action="delayed",
                              status="4.4.1", original_message_id=None))
    _drop(ctx, "3.soft", dsn(to=claire_verp, recipient="x@relay.example", status="4.2.2",
                             original_message_id=None))
    _drop(ctx, "4.forged", dsn(to=claire_verp.replace("+", "+9"), recipient="x@relay.example",
                               original_message_id=None))
    summary = read_bounces(ctx)
    assert (summary.read, summary.hard, summary.soft, summary.unmatched) == (4, 1, 2, 1)
    assert _member(ctx, ANNA).status is SubscriberStatus.BOUNCED
    # Two soft reports of one delivery are one soft bounce: below soft_limit 2.
    assert _member(ctx, CLAIRE).status is SubscriberStatus.ACTIVE
    assert not hard.exists()
    assert sorted(p.name for p in (hard.parent.parent / "cur").iterdir()) == [
        "1.hard:2,S", "2.delay:2,S", "3.soft:2,S", "4.forged:2,S"]
    # Read twice: the same file back in new/ counts nothing.
    shutil.copy(hard.parent.parent / "cur" / "1.hard:2,S", hard)
    assert read_bounces(ctx).already == 1
    state = store_status(ctx)
    assert state.bounces == {"hard": 1, "soft": 2, "complaint": 0, "unmatched": 1}
    assert state.members_bounced == 1


def _message_id_of(ctx: Context, address: str) -> str:
    assert isinstance(ctx, _MemoryContext)
    return next(e.message_id for e in ctx.transport.sent if e.recipient == address)


def test_a_complaint_unsubscribes_and_a_run_reads_the_mailbox(maildir_ctx: Context) -> None:
    """Found by the original's Message-ID (the ARF copy names another address)."""
    ctx = maildir_ctx
    assert isinstance(ctx, _MemoryContext)
    ctx.transport.sent.clear()
    run_once(ctx)
    _drop(ctx, "1.arf", arf(recipient="someone@isp.example.net",
                            original_message_id=_message_id_of(ctx, CLAIRE)))
    _drop(ctx, "2.dsn", dsn(recipient=ANNA, original_message_id=_message_id_of(ctx, ANNA)))
    huge = _drop(ctx, "3.huge", b"X-Padding: " + b"x" * (2 * 1024 * 1024) + b"\r\n\r\n")
    report = run_once(ctx)
    assert any(line.startswith("bounces: 3 read: 1 hard, 0 soft, 1 complaints")
               for line in report.notes), report.notes
    assert "  not a report: message 3.huge: over 1024 KB (2097167 bytes)" in report.notes
    assert not huge.exists()
    assert _member(ctx, CLAIRE).status is SubscriberStatus.UNSUBSCRIBED
    assert _member(ctx, ANNA).status is SubscriberStatus.BOUNCED


def test_a_forged_report_changes_nobody(maildir_ctx: Context) -> None:
    """With a return path, only a signed VERP address or a stored Message-ID is proof: a
    member's address alone, or a VERP address with a bad signature (even with the right
    Message-ID), is kept unmatched and counted unverified."""
    ctx = maildir_ctx
    assert isinstance(ctx, _MemoryContext)
    ctx.transport.sent.clear()
    run_once(ctx)
    anna_verp = _verp_of(ctx, ANNA)
    bad = anna_verp[:-len("@example.org") - 1] + ("0" if anna_verp[-13] != "0" else "1")
    _drop(ctx, "1.bad-verp", dsn(to=bad + "@example.org", recipient=ANNA,
                                 original_message_id=_message_id_of(ctx, ANNA)))
    _drop(ctx, "2.address", dsn(recipient=FRANCOIS, original_message_id=None))
    _drop(ctx, "3.arf", arf(recipient=CLAIRE, original_message_id=None))
    _drop(ctx, "4.stranger", dsn(recipient="nobody@example.net", original_message_id=None))
    summary = read_bounces(ctx)
    assert (summary.read, summary.unmatched, summary.unverified) == (4, 4, 3)
    assert (summary.hard, summary.complaints, summary.bounced, summary.unsubscribed) == (
        0, 0, 0, 0)
    assert "4 unmatched" in summary.line() and "3 unverified (nobody changed)" in summary.line()
    for address in (ANNA, FRANCOIS, CLAIRE):
        assert _member(ctx, address).status is SubscriberStatus.ACTIVE
    assert store_status(ctx).bounces == {"hard": 0, "soft": 0, "complaint": 0,
                                         "unmatched": 4}


def test_without_a_return_path_only_the_message_id_changes_a_member(
        maildir_ctx: Context) -> None:
    ctx = maildir_ctx
    assert isinstance(ctx, _MemoryContext)
    settings = ctx.settings.bounces
    assert settings is not None
    ctx.settings = ctx.settings.model_copy(
        update={"bounces": settings.model_copy(update={"return_path": None})})
    ctx.transport.sent.clear()
    run_once(ctx)
    _drop(ctx, "1.address", dsn(recipient=ANNA, original_message_id=None))
    _drop(ctx, "2.arf", arf(recipient=CLAIRE, original_message_id="<made-up@forum>"))
    _drop(ctx, "3.id", dsn(recipient="x@relay.example",
                           original_message_id=_message_id_of(ctx, FRANCOIS)))
    summary = read_bounces(ctx)
    assert (summary.hard, summary.unmatched, summary.unverified, summary.bounced) == (
        1, 2, 2, 1)
    assert _member(ctx, ANNA).status is SubscriberStatus.ACTIVE
    assert _member(ctx, CLAIRE).status is SubscriberStatus.ACTIVE
    assert _member(ctx, FRANCOIS).status is SubscriberStatus.BOUNCED


def test_an_entry_of_new_that_cannot_be_read_is_named_and_the_others_are_read(
        maildir_ctx: Context) -> None:
    """A folder, a pipe or a link in new/ stops nothing: each is reported by its name and
    left where it is; the reports around them are read, and the run goes on."""
    ctx = maildir_ctx
    assert isinstance(ctx, _MemoryContext)
    ctx.transport.sent.clear()
    run_once(ctx)
    new = ctx.settings.base_dir / "bounces" / "new"
    (new / "1.folder").mkdir()
    os.mkfifo(new / "2.pipe")
    (new / "3.link").symlink_to(new.parent / "elsewhere")
    _drop(ctx, "4.dsn", dsn(recipient=ANNA, original_message_id=_message_id_of(ctx, ANNA)))
    ctx.clock.set(ctx.clock.now() + timedelta(days=7))  # type: ignore[attr-defined]
    report = run_once(ctx)
    assert not report.failures, report.failures
    assert any(line.startswith("bounces: 4 read: 1 hard") for line in report.notes)
    assert "  not a report: message 1.folder: not a regular file (a directory); left in new/" \
        in report.notes
    assert "  not a report: message 2.pipe: not a regular file (a pipe); left in new/" \
        in report.notes
    assert ("  not a report: message 3.link: a symbolic link (not followed); left in new/"
            in report.notes)
    assert _member(ctx, ANNA).status is SubscriberStatus.BOUNCED
    assert sorted(p.name for p in new.iterdir()) == ["1.folder", "2.pipe", "3.link"]
    assert [p.name for p in (new.parent / "cur").iterdir()] == ["4.dsn:2,S"]


def test_a_maildir_that_fails_while_read_is_one_problem_of_the_run(
        maildir_ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """An OSError of the mailbox itself (here: new/ cannot be listed) is one problem line
    naming the mailbox, never "cannot use 3", and the run goes on."""
    ctx = maildir_ctx
    new = ctx.settings.base_dir / "bounces" / "new"
    real = Path.iterdir

    def failing(path: Path) -> Iterator[Path]:
        if path == new.resolve():
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(Path, "iterdir", failing)
    report = run_once(ctx)
    assert any("bounce Maildir" in f and "Permission denied" in f for f in report.failures), \
        report.failures
    assert any(line.startswith("weekly/1: 17 items") for line in report.editions)


def test_a_missing_maildir_is_one_problem_of_the_run(maildir_ctx: Context) -> None:
    shutil.rmtree(maildir_ctx.settings.base_dir / "bounces")
    report = run_once(maildir_ctx)
    assert any("bounce Maildir" in f and "no new/ folder" in f for f in report.failures)
    assert any(line.startswith("weekly/1: 17 items") for line in report.editions)


def test_a_run_reads_at_most_max_messages_and_leaves_the_rest_for_the_next(
        maildir_ctx: Context) -> None:
    ctx = maildir_ctx
    settings = ctx.settings.bounces
    assert settings is not None
    ctx.settings = ctx.settings.model_copy(
        update={"bounces": settings.model_copy(update={"max_messages": 2})})
    for number in range(3):
        _drop(ctx, f"{number}.away", b"Subject: Out of office\r\n\r\nAway.\r\n")
    assert read_bounces(ctx).read == 2
    assert [p.name for p in (ctx.settings.base_dir / "bounces" / "new").iterdir()] == ["2.away"]
    assert read_bounces(ctx).read == 1
    assert read_bounces(ctx).read == 0


def test_soft_bounces_in_a_row_start_again_after_a_hard_one(db: Any) -> None:
    from digest.models import Subscriber
    from digest.store import bounce_reports

    start = datetime.fromisoformat(SAMPLE_NOW)
    with db.transaction() as connection:
        subscribers.add(connection, Subscriber(email="m@example.org", name="", language="en",
                                               digests=("weekly",)), start)
        member = subscribers.by_email(connection, "m@example.org")
        assert member is not None and member.id is not None
        for number, kind in enumerate(["soft", "soft", "hard", "soft", "soft"]):
            assert bounce_reports.record(connection, report_key=f"k{number}", kind=kind,
                                         detail=kind, now=start + timedelta(hours=number),
                                         subscriber_id=member.id)
        assert not bounce_reports.record(connection, report_key="k0", kind="soft",
                                         detail="again", now=start, subscriber_id=member.id)
        assert bounce_reports.soft_in_a_row(connection, member.id) == 2
        assert bounce_reports.counts(connection) == {"hard": 1, "soft": 4, "complaint": 0,
                                                     "unmatched": 0}
        assert [r["kind"] for r in bounce_reports.for_member(connection, member.id)] == [
            "soft", "soft", "hard", "soft", "soft"]


class _RefusingServer:
    """An IMAP connection whose server refuses to FETCH message 2 (as Dovecot does for a
    message it cannot read from its storage), or drops the connection on message 3."""

    def __init__(self, messages: dict[str, bytes], drop: bool = False) -> None:
        self.messages, self.drop = messages, drop
        self.seen: list[str] = []

    def uid(self, command: str, *args: str) -> tuple[str, list[Any]]:
        if command == "SEARCH":
            return "OK", [b" ".join(uid.encode() for uid in self.messages)]
        if command == "STORE":
            self.seen.append(args[0])
            return "OK", [b""]
        uid, what = args
        if uid == "2" and what == "(BODY.PEEK[])":
            return "NO", [b"[SERVERBUG] Internal error occurred"]
        if uid == "3" and self.drop:
            raise imaplib.IMAP4.abort("socket error: EOF")
        data = self.messages[uid]
        if what == "(RFC822.SIZE)":
            return "OK", [f"{uid} (UID {uid} RFC822.SIZE {len(data)})".encode()]
        return "OK", [(f"{uid} (UID {uid} BODY[] {{{len(data)}}}".encode(), data), b")"]

    def logout(self) -> None:
        """Nothing to close."""


def _imap_with(server: _RefusingServer) -> ImapMailbox:
    mailbox = ImapMailbox.__new__(ImapMailbox)
    mailbox.name, mailbox.max_bytes = "imap://bounces@mail.example/INBOX", 1024 * 1024
    mailbox.imap = server  # type: ignore[assignment]
    return mailbox


def test_a_message_the_imap_server_refuses_is_named_and_the_others_are_read(
        maildir_ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = maildir_ctx
    assert isinstance(ctx, _MemoryContext)
    ctx.transport.sent.clear()
    run_once(ctx)
    away = b"Subject: Out of office\r\n\r\nAway.\r\n"
    server = _RefusingServer({"1": away, "2": away, "3": dsn(
        recipient=ANNA, original_message_id=_message_id_of(ctx, ANNA))})
    monkeypatch.setattr("digest.jobs.bounces.open_mailbox", lambda *a: _imap_with(server))
    summary = read_bounces(ctx)
    assert (summary.read, summary.hard, summary.bounced) == (3, 1, 1)
    assert ("message 2: cannot fetch it: NO [SERVERBUG] Internal error occurred; left unread"
            in summary.skipped), summary.skipped
    assert server.seen == ["1", "3"]  # the refused one stays unread, read again next time
    # A connection lost on the way is the mailbox's failure: one problem of the run.
    server = _RefusingServer({"1": away, "3": away}, drop=True)
    report = RunReport()
    read_for_run(ctx, report)
    assert report.failures == ["bounce mailbox imap://bounces@mail.example/INBOX: cannot "
                               "read its size: socket error: EOF"]
