"""A coordinator's decisions on a bulletin: approve (an override of lint errors needs a
written reason), reject with a note, schedule; and each bulletin's state with its lint.

Each decision is recorded for the file's content it was given for (``store.reviews``) and
written to the audit log in the same transaction. The console and the command line call
these; who may call them (an approver) is the caller's check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection

from digest.bulletins import load_bulletin
from digest.dates import console_stamp
from digest.errors import DigestError, InputError
from digest.jobs.bulletin_state import BulletinState, BulletinStatus, bulletin_status
from digest.jobs.bulletins import bulletins, with_upcoming
from digest.jobs.context import Context
from digest.links import bulletin_links
from digest.models import Bulletin, RenderedEmail, RunReport
from digest.render.email import render_bulletin_email
from digest.store import audit, reviews

FINAL = (BulletinState.SENT, BulletinState.CANCELLED)


@dataclass(frozen=True)
class ReviewedBulletin:
    """A bulletin of the folder as it is now: parsed, its email rendered, its state."""

    bulletin: Bulletin
    email: RenderedEmail
    status: BulletinStatus


def bulletin_path(ctx: Context, slug: str) -> Path:
    """The file of the bulletin ``slug`` in the bulletins folder, or refused input."""
    for bulletin in bulletins(ctx, RunReport()):
        if bulletin.slug == slug:
            return Path(bulletin.source_path)
    raise InputError(f"no bulletin {slug!r} in the bulletins folder (see `digest status`)")


def find_bulletin(ctx: Context, slug: str) -> ReviewedBulletin:
    """The bulletin ``slug`` read, rendered and linted; its hash is of the very bytes that
    were parsed and linted (``Bulletin.content_hash``)."""
    path = bulletin_path(ctx, slug)
    return reviewed(ctx, with_upcoming(ctx, load_bulletin(path, ctx.settings)))


def reviewed(ctx: Context, bulletin: Bulletin) -> ReviewedBulletin:
    """A loaded bulletin's email and state."""
    email = render_bulletin_email(bulletin, ctx.settings,
                                  bulletin_links(ctx.settings, bulletin.slug))
    return ReviewedBulletin(bulletin, email, bulletin_status(ctx, bulletin, email))


def bulletin_states(ctx: Context, report: RunReport | None = None) -> list[BulletinStatus]:
    """Every bulletin of the folder with its state (``digest status``, the dashboard); one
    that cannot be read or rendered is in ``report.failures`` instead."""
    report = report or RunReport()
    states = []
    for bulletin in bulletins(ctx, report):
        try:
            states.append(reviewed(ctx, bulletin).status)
        except DigestError as exc:
            report.failures.append(f"bulletin {bulletin.slug}: {exc}")
    return states


def approve_bulletin(ctx: Context, slug: str, actor: str, reason: str | None = None, *,
                     content_hash: str | None = None) -> BulletinStatus:
    """Approve the bulletin's current content. Refused while lint errors stand unless
    ``reason`` overrides them (recorded); ``content_hash`` (what the approver looked at)
    refuses an approval of a file changed since. Keeps a schedule set for this content."""
    found = find_bulletin(ctx, slug)
    status = found.status
    _refuse_final(status, "approved")
    _check_seen(status, content_hash)
    reason = (reason or "").strip() or None
    if status.errors and reason is None:
        listed = "\n".join(f"  {problem}" for problem in status.errors)
        raise InputError(f"{status.target} has {len(status.errors)} lint error"
                         f"{'s' if len(status.errors) != 1 else ''}: fix them, or give a "
                         f"reason to override them (--reason TEXT):\n{listed}")
    previous = status.review
    send_at = (previous.send_at if previous is not None and previous.covers(status.content_hash)
               and previous.decision == reviews.APPROVED else None)
    detail = f"content {status.content_hash[:12]}"
    if status.errors:
        detail += f"; overrides {len(status.errors)} lint errors"
    with ctx.db.transaction() as connection:
        _decide(ctx, connection, status, reviews.APPROVED, actor, reason, send_at)
        _audit(ctx, connection, actor, audit.Action.APPROVE, status.target, reason, detail)
    return reviewed(ctx, found.bulletin).status


def reject_bulletin(ctx: Context, slug: str, actor: str, note: str, *,
                    content_hash: str | None = None) -> BulletinStatus:
    """Reject the bulletin's current content with a note saying what to change; an edit
    of the file makes it a draft again."""
    note = note.strip()
    if not note:
        raise InputError("a rejection needs a note saying what to change (--note TEXT)")
    found = find_bulletin(ctx, slug)
    status = found.status
    _refuse_final(status, "rejected")
    _check_seen(status, content_hash)
    with ctx.db.transaction() as connection:
        _decide(ctx, connection, status, reviews.REJECTED, actor, note, None)
        _audit(ctx, connection, actor, audit.Action.REJECT, status.target, note,
               f"content {status.content_hash[:12]}")
    return reviewed(ctx, found.bulletin).status


def schedule_bulletin(ctx: Context, slug: str, actor: str,
                      send_at: datetime | None) -> BulletinStatus:
    """Set (or, with None, clear) when an approved bulletin goes out, over its file's
    ``send_at``. Only a bulletin that may go out (due or scheduled) can be scheduled."""
    if send_at is not None and send_at.tzinfo is None:
        raise InputError(f"send_at {send_at.isoformat()} needs a time zone offset")
    found = find_bulletin(ctx, slug)
    status = found.status
    _refuse_final(status, "scheduled")
    if status.state not in (BulletinState.DUE, BulletinState.SCHEDULED):
        raise InputError(f"{status.target} is {status.state}: approve it first")
    current = status.review
    reason = current.reason if current and current.covers(status.content_hash) else None
    when = console_stamp(send_at, ctx.settings.site.zone) if send_at else "its file's send_at"
    with ctx.db.transaction() as connection:
        _decide(ctx, connection, status, reviews.APPROVED, actor, reason, send_at)
        _audit(ctx, connection, actor, audit.Action.SCHEDULE, status.target, None,
               f"send at {when}")
    return reviewed(ctx, found.bulletin).status


def _refuse_final(status: BulletinStatus, what: str) -> None:
    if status.state in FINAL:
        raise InputError(f"{status.target} is {status.state}: it cannot be {what} any more")


def _check_seen(status: BulletinStatus, content_hash: str | None) -> None:
    if content_hash is not None and content_hash != status.content_hash:
        raise InputError(f"{status.target} changed since you looked at it: look again "
                         "before deciding")


def _decide(ctx: Context, connection: Connection, status: BulletinStatus,
            decision: reviews.Decision, actor: str, reason: str | None,
            send_at: datetime | None) -> None:
    reviews.add(connection, slug=status.slug, content_hash=status.content_hash,
                decision=decision, actor=actor, at=ctx.clock.now(), reason=reason,
                send_at=send_at)


def _audit(ctx: Context, connection: Connection, actor: str, action: audit.Action, target: str,
           reason: str | None, detail: str | None) -> None:
    audit.record(connection, at=ctx.clock.now(), actor=actor, action=action, target=target,
                 reason=reason, detail=detail)
