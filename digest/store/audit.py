"""The audit log: every coordinator's action, who, what, when, on which target, and why.

Rows are only ever added; the console shows the latest ones. ``actor`` is the signed-in
coordinator's address (or ``cli`` for a command), ``target`` an edition label
(``weekly/3``), ``bulletin:<slug>`` or ``member:<id>`` / ``members``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from digest.store.schema import audit_log


def record(connection: Connection, *, at: datetime, actor: str, action: str, target: str,
           reason: str | None = None, detail: str | None = None) -> None:
    """Add one action to the log, in the caller's transaction (so it is kept only if the
    action itself is)."""
    connection.execute(audit_log.insert().values(
        at=at, actor=actor[:320], action=action[:40], target=target[:400], reason=reason,
        detail=detail))
