"""Reading the bounce mailbox: each report stored once, matched to its delivery and member,
and what it means for the member.

A report is matched by the signed VERP address it was sent to (``bounces.return_path``),
else by the original message's Message-ID as the outbox stored it (``deliveries.message_id``).
Nothing else is proof: anyone can mail a report naming a member's address, so a report
that names a member only by address, or carries a VERP address with a bad signature
(forged: never matched another way), changes nobody; it is kept as ``unmatched`` and
counted as unverified. A hard bounce marks the member ``bounced`` at once; soft bounces once
``bounces.soft_limit`` deliveries soft-bounced in a row; a complaint unsubscribes. A report
that names no member is kept as ``unmatched`` and counted. Each message is marked read in
the mailbox only after its report is committed, so a stop in between costs nothing: the
next read finds the report stored and counts it once.

``digest bounces`` runs ``read_bounces``; every run and the service's housekeeping run
``read_for_run``, where a failing mailbox is one line of the summary, never a stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection

from digest.bounces.mailboxes import Fetched, MailboxError, open_mailbox
from digest.bounces.reports import (
    COMPLAINT,
    HARD,
    MAX_REPORT_BYTES,
    NotAReport,
    Report,
    parse_report,
)
from digest.bounces.verp import is_verp_of, read_verp
from digest.config.bounces import BounceSettings
from digest.jobs.context import Context
from digest.models import RunReport, SubscriberStatus
from digest.store import bounce_reports, subscribers
from digest.store.bounce_reports import DeliveryRef

SKIPPED_SHOWN = 10


@dataclass
class BounceSummary:
    """What one read of the mailbox did."""

    read: int = 0
    hard: int = 0
    soft: int = 0
    complaints: int = 0
    unmatched: int = 0
    unverified: int = 0  # of the unmatched: named a member without proof, changed nobody
    already: int = 0  # stored by an earlier read: counted once
    bounced: int = 0  # members marked bounced now
    unsubscribed: int = 0  # members unsubscribed by a complaint now
    skipped: list[str] = field(default_factory=list)  # "KEY: why", not a report
    error: str | None = None  # the mailbox itself failed

    def line(self) -> str:
        """The summary's line."""
        text = (f"bounces: {self.read} read: {self.hard} hard, {self.soft} soft, "
                f"{self.complaints} complaints, {self.unmatched} unmatched; members marked "
                f"bounced {self.bounced}, unsubscribed {self.unsubscribed}")
        if self.unverified:
            text += f"; {self.unverified} unverified (nobody changed)"
        if self.already:
            text += f"; {self.already} read before"
        if self.skipped:
            text += f"; {len(self.skipped)} not a report"
        return text


def read_bounces(ctx: Context) -> BounceSummary:
    """Read the configured mailbox once (``MailboxError`` when it cannot be read at all,
    after storing what was read before the failure)."""
    settings = ctx.settings.bounces
    if settings is None:
        raise MailboxError("no `bounces:` section in the config: no bounce mailbox to read")
    summary = BounceSummary()
    try:
        mailbox = open_mailbox(settings, ctx.settings.base_dir, ctx.env.bounces_password,
                               MAX_REPORT_BYTES)
        try:
            for fetched in mailbox.unread(settings.max_messages):
                summary.read += 1
                _take(ctx, settings, fetched, summary)
                if not fetched.keep:
                    mailbox.done(fetched.key)
        finally:
            mailbox.close()
    except OSError as exc:  # the mailbox's own fault, whatever the mailbox did not foresee
        where = settings.imap or settings.maildir
        raise MailboxError(f"bounce mailbox {where}: {exc.strerror or exc}") from exc
    return summary


def read_for_run(ctx: Context, report: RunReport) -> None:
    """A run's step: read the mailbox when one is configured; its failure is one problem."""
    if ctx.settings.bounces is None:
        return
    try:
        summary = read_bounces(ctx)
    except MailboxError as exc:
        report.failures.append(str(exc))
        return
    report.notes.append(summary.line())
    report.notes += [f"  not a report: {why}" for why in summary.skipped[:SKIPPED_SHOWN]]


def _take(ctx: Context, settings: BounceSettings, fetched: Fetched,
          summary: BounceSummary) -> None:
    if fetched.data is None:
        summary.skipped.append(f"message {fetched.key}: {fetched.problem}")
        return
    try:
        parsed = parse_report(fetched.data)
    except NotAReport as exc:
        summary.skipped.append(f"message {fetched.key}: {exc}")
        return
    with ctx.db.transaction() as connection:
        if bounce_reports.known(connection, parsed.key):
            summary.already += 1
            return
        found, unverified = _match(ctx, settings, connection, parsed)
        kind = parsed.kind if found is not None else "unmatched"
        stored = bounce_reports.record(
            connection, report_key=parsed.key, kind=kind, detail=parsed.detail,
            now=ctx.clock.now(), subscriber_id=found.subscriber_id if found else None,
            delivery_id=(found.delivery_id or None) if found else None)
        if not stored:
            summary.already += 1
            return
        if found is None:
            summary.unmatched += 1
            summary.unverified += unverified
            return
        _count(summary, parsed)
        _apply(connection, settings, parsed, found.subscriber_id, summary)


def _count(summary: BounceSummary, parsed: Report) -> None:
    if parsed.kind == HARD:
        summary.hard += 1
    elif parsed.kind == COMPLAINT:
        summary.complaints += 1
    else:
        summary.soft += 1


def _match(ctx: Context, settings: BounceSettings, connection: Connection,
           parsed: Report) -> tuple[DeliveryRef | None, bool]:
    """The report's delivery, proven by a signed VERP address or a stored Message-ID; else
    None, and whether the report named someone without that proof (a forged VERP address,
    a member's address alone): unverified, it changes nobody."""
    forged = False
    if settings.return_path:
        for address in parsed.addressed_to:
            delivery_id = read_verp(ctx.secret, address, settings.return_path)
            if delivery_id is None:
                forged = forged or is_verp_of(address, settings.return_path)
                continue
            found = bounce_reports.delivery(connection, delivery_id)
            if found is not None:
                return found, False
    if forged:
        return None, True
    if parsed.message_id:
        found = bounce_reports.delivery_by_message_id(connection, parsed.message_id)
        if found is not None:
            return found, False
    named = bool(parsed.recipient) and subscribers.by_email(
        connection, parsed.recipient) is not None
    return None, named


def _apply(connection: Connection, settings: BounceSettings, parsed: Report,
           subscriber_id: int, summary: BounceSummary) -> None:
    """What the report does to its member (only an active member changes)."""
    member = subscribers.by_id(connection, subscriber_id)
    if member is None or member.status is not SubscriberStatus.ACTIVE:
        return
    if parsed.kind == COMPLAINT:
        subscribers.set_status_by_id(connection, subscriber_id, SubscriberStatus.UNSUBSCRIBED)
        summary.unsubscribed += 1
    elif parsed.kind == HARD or (bounce_reports.soft_in_a_row(connection, subscriber_id)
                                 >= settings.soft_limit):
        subscribers.set_status_by_id(connection, subscriber_id, SubscriberStatus.BOUNCED)
        summary.bounced += 1
