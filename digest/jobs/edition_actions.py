"""A coordinator's hand on an edition: approve a draft, pause its sending (the senders
stop after the messages in flight), resume it, cancel it (only before its first message),
queue its refused messages again. Each is written to the audit log with the change it
makes; a cancelled edition's web version, if it had one, is withdrawn.

A paused or cancelled edition is skipped by runs (``store.editions.unfinished`` leaves it
out) and refused by ``digest send``; a sender already working through it reads its status
before each message (``jobs.outbox``).
"""

from __future__ import annotations

from sqlalchemy import Connection

from digest.errors import InputError
from digest.jobs import manual
from digest.jobs.context import Context
from digest.jobs.delivery import FULL_VARIANT
from digest.jobs.problems import edition_problems
from digest.jobs.publication import withdraw_edition
from digest.models import RunReport
from digest.render.lint import Problem
from digest.store import audit, deliveries, editions, fingerprints
from digest.store import curation as curation_store
from digest.store.editions import EditionRow

PAUSABLE = (editions.APPROVED, editions.SENDING)
CANCELLABLE = (editions.DRAFT, editions.APPROVED, editions.SENDING, editions.PAUSED,
               editions.FAILED)


def approve(ctx: Context, label: str, actor: str, reason: str | None = None, *,
            seen: str | None = None) -> EditionRow:
    """Let a draft edition go out with the next run or ``digest send``.

    A draft whose email has lint errors (placeholder links, over the clipping size...) is
    refused unless ``reason`` says why it may go out all the same, as for a bulletin; the
    reason is kept in the audit log. ``seen`` is the draft's ``draft_version`` the
    approver looked at (the console's form): a draft curated since is refused, so nobody
    approves a note or items they did not see. Whatever ``seen``, the draft approved is the
    one its lint judged: the status changes, with its audit row, only if the edition is
    still that draft (not cancelled, curated or approved by someone else meanwhile)."""
    row = manual.find_edition(ctx, label)
    reason = (reason or "").strip() or None
    if row.status != editions.DRAFT:
        raise InputError(f"{row.label} is {row.status}, not a draft")
    judged = draft_version(ctx, row)
    if seen is not None and seen != judged:
        raise InputError(f"{row.label} changed since you looked at it (curated, or no "
                         "longer a draft): look at it again, then approve it")
    if reason is None:
        errors = _email_errors(ctx, row)
        if errors:
            raise InputError(f"{row.label} has {len(errors)} lint error(s), first "
                             f"{errors[0]}; fix them or give a reason to approve it all "
                             "the same")
    with ctx.db.transaction() as connection:
        # Held until the end of the transaction: no curation or cancel lands in between.
        if (not curation_store.lock_draft(connection, row.id)
                or fingerprints.edition_state(connection, row.id) != judged):
            raise InputError(f"{row.label} changed while it was being approved (curated, "
                             "cancelled or approved meanwhile): look at it again")
        editions.set_status(connection, row.id, editions.APPROVED)
        _audit(ctx, connection, actor, audit.Action.APPROVE, row.label, None, reason)
    return manual.find_edition(ctx, label)


def draft_version(ctx: Context, row: EditionRow) -> str:
    """What an approval of the edition approves: its status, items, curation and note
    (``store.fingerprints.edition_state``); "" once it is gone."""
    with ctx.db.transaction() as connection:
        return fingerprints.edition_state(connection, row.id) or ""


def _email_errors(ctx: Context, row: EditionRow) -> list[Problem]:
    """The errors of the draft's full email as it would go out (curation applied)."""
    email = manual.stored_emails(ctx, row, revive=False, report=RunReport())[FULL_VARIANT]
    return [problem for problem in edition_problems(row.digest_id, row.number, email, ())
            if problem.severity == "error"]


def pause(ctx: Context, label: str, actor: str) -> EditionRow:
    """Stop sending the edition after the messages in flight; the rest waits for resume."""
    row = manual.find_edition(ctx, label)
    with ctx.db.transaction() as connection:
        status = editions.status_of(connection, row.id)
        if status not in PAUSABLE:
            raise InputError(f"{row.label} is {status}: only an approved edition or one "
                             "being sent can be paused")
        editions.set_status(connection, row.id, editions.PAUSED)
        _audit(ctx, connection, actor, audit.Action.PAUSE, row.label, f"was {status}")
    return manual.find_edition(ctx, label)


def resume(ctx: Context, label: str, actor: str) -> EditionRow:
    """Let a paused edition go on: the next run (or ``digest send``) sends the rest."""
    row = manual.find_edition(ctx, label)
    with ctx.db.transaction() as connection:
        status = editions.status_of(connection, row.id)
        if status != editions.PAUSED:
            raise InputError(f"{row.label} is {status}, not paused")
        editions.set_status(connection, row.id, editions.SENDING)
        _audit(ctx, connection, actor, audit.Action.RESUME, row.label, None)
    return manual.find_edition(ctx, label)


def cancel(ctx: Context, label: str, actor: str, reason: str | None = None) -> EditionRow:
    """Cancel an edition before its first message: none is ever sent, its items go to the
    digest's next edition. Refused once any message was handed over or tried."""
    row = manual.find_edition(ctx, label)
    now = ctx.clock.now()
    with ctx.db.transaction() as connection:
        status = editions.status_of(connection, row.id)
        if status not in CANCELLABLE:
            raise InputError(f"{row.label} is {status}: it cannot be cancelled")
        if deliveries.started(connection, row.id):
            raise InputError(f"{row.label}: its sending has started, so it cannot be "
                             f"cancelled any more (pause it: `digest pause {row.label}`)")
        editions.set_status(connection, row.id, editions.CANCELLED)
        dropped = deliveries.cancel_pending(connection, row.id, now, "edition cancelled")
        _audit(ctx, connection, actor, audit.Action.CANCEL, row.label,
               f"was {status}; {dropped} messages cancelled", reason=reason)
    cancelled = manual.find_edition(ctx, label)
    withdraw_edition(ctx, cancelled, RunReport())  # nothing of it stays public
    return cancelled


def retry_failed(ctx: Context, label: str, actor: str) -> int:
    """Queue the edition's refused messages again (``manual.retry_failed``); how many."""
    row = manual.find_edition(ctx, label)
    queued = manual.retry_failed(ctx, row)
    with ctx.db.transaction() as connection:
        _audit(ctx, connection, actor, audit.Action.RETRY_FAILED, row.label,
               f"{queued} queued again")
    return queued


def _audit(ctx: Context, connection: Connection, actor: str, action: audit.Action, target: str,
           detail: str | None, reason: str | None = None) -> None:
    audit.record(connection, at=ctx.clock.now(), actor=actor, action=action, target=target,
                 reason=reason, detail=detail)
