"""The audit log: every coordinator action (approve, reject, schedule, pause, a test-send...),
who did it, when, on which bulletin or edition, and why.

Rows are only ever added: the console shows the latest, and an edition's or bulletin's page
its own history. ``actor`` is a coordinator's address, or ``cli`` for the command line;
``target`` names what was acted on as operators name it (``weekly/3``, ``bulletin:<slug>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, RowMapping, select

from digest.store.schema import audit_log


class Action(StrEnum):
    """Every action the log records, stored as its value. Writers name one of these (the
    type checker refuses any other code), so the console has a label for each
    (``digest.web.admin.actions``)."""

    APPROVE = "approve"  # a bulletin or an edition
    REJECT = "reject"
    SCHEDULE = "schedule"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RETRY_FAILED = "retry-failed"
    TEST_SEND = "test-send"
    EDIT = "edit"  # a bulletin's file, in the console's editor
    CREATE = "create"
    OMIT = "omit"  # a draft's curation
    RESTORE = "restore"
    PIN = "pin"
    UNPIN = "unpin"
    NOTE = "note"
    NOTE_REMOVED = "note-removed"
    MEMBERS_EXPORT = "members.export"
    MEMBERS_IMPORT_PREVIEW = "members.import.preview"
    MEMBERS_IMPORT = "members.import"
    MEMBER_ERASE = "member.erase"  # at the member's request; the detail names no one


ACTOR_LIMIT = 320
TEXT_LIMIT = 4000  # characters of a reason or detail kept: a note, not a document


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    reason: str | None
    detail: str | None


def record(connection: Connection, *, at: datetime, actor: str, action: Action, target: str,
           reason: str | None = None, detail: str | None = None) -> None:
    """Add one action to the log, in the caller's transaction (with the change it records,
    so a change is never made without its row, nor a row written for a change undone)."""
    connection.execute(audit_log.insert().values(
        at=at, actor=actor[:ACTOR_LIMIT], action=str(action)[:40], target=target[:400],
        reason=reason[:TEXT_LIMIT] if reason else None,
        detail=detail[:TEXT_LIMIT] if detail else None))


def _entry(row: RowMapping) -> AuditEntry:
    return AuditEntry(id=row["id"], at=row["at"], actor=row["actor"], action=row["action"],
                      target=row["target"], reason=row["reason"], detail=row["detail"])


def latest(connection: Connection, limit: int = 20) -> list[AuditEntry]:
    """The latest actions of every coordinator, newest first (the console's dashboard)."""
    rows = connection.execute(select(audit_log).order_by(
        audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)).mappings()
    return [_entry(row) for row in rows]


def for_target(connection: Connection, target: str, limit: int = 50) -> list[AuditEntry]:
    """The actions on one bulletin or edition, newest first (its page's history)."""
    rows = connection.execute(select(audit_log).where(audit_log.c.target == target).order_by(
        audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)).mappings()
    return [_entry(row) for row in rows]
