"""Each source's health and the state its next poll needs.

Health (``sources``) says how polling went: when it last worked, its last error, how often
it failed in a row, how many items it gave. State (``source_state``) is what the next poll
sends or skips: HTTP validators, the URL a permanent redirect moved it to, and why it was
disabled. Both are written in the same transaction as the items they describe, so a crash
never leaves validators that claim content the store does not have.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from digest.source_state import SourceState
from digest.store.schema import source_state, sources


@dataclass(frozen=True)
class SourceHealth:
    """One source's row for `digest status`."""

    id: str
    location: str
    last_attempt: datetime | None
    last_success: datetime | None
    last_error: str | None
    consecutive_failures: int
    items_seen: int
    state: SourceState | None = None


def record(connection: Connection, source_id: str, location: str, now: datetime,
           error: str | None, items_seen: int | None) -> None:
    """Record one poll of a source, successful when ``error`` is None.

    ``items_seen`` None (an unchanged feed, a disabled source) keeps the last count.
    """
    row = connection.execute(select(sources).where(sources.c.id == source_id)).mappings().first()
    if row is None:
        connection.execute(sources.insert().values(
            id=source_id, location=location, consecutive_failures=0, items_seen=0))
        failures = 0
    else:
        failures = row["consecutive_failures"]
    values: dict[str, object] = {"location": location, "last_attempt": now}
    if error is None:
        values.update(last_success=now, last_error=None, consecutive_failures=0)
        if items_seen is not None:
            values["items_seen"] = items_seen
    else:
        values.update(last_error=error, consecutive_failures=failures + 1)
    connection.execute(sources.update().where(sources.c.id == source_id).values(**values))


def _state(row: dict[str, object]) -> SourceState:
    def text(key: str) -> str | None:
        value = row[key]
        return None if value is None else str(value)

    return SourceState(location=str(row["location"]), url=text("url"), etag=text("etag"),
                       last_modified=text("last_modified"), disabled=text("disabled"),
                       fingerprint=text("fingerprint"))


def states(connection: Connection) -> dict[str, SourceState]:
    """Every stored source state by source id."""
    rows = connection.execute(select(source_state)).mappings()
    return {str(row["id"]): _state(dict(row)) for row in rows}


def save_state(connection: Connection, source_id: str, state: SourceState,
               now: datetime) -> None:
    """Replace a source's state with ``state``."""
    values = {"location": state.location, "url": state.url, "etag": state.etag,
              "last_modified": state.last_modified, "disabled": state.disabled,
              "fingerprint": state.fingerprint, "updated_at": now}
    updated = connection.execute(
        source_state.update().where(source_state.c.id == source_id).values(**values))
    if updated.rowcount == 0:
        connection.execute(source_state.insert().values(id=source_id, **values))


def enable(connection: Connection, source_id: str, now: datetime) -> bool:
    """Let a disabled source be polled again (from its configured location, without
    validators); False when the store knows no such source state."""
    row = connection.execute(select(source_state).where(source_state.c.id == source_id)
                             ).mappings().first()
    if row is None:
        return False
    save_state(connection, source_id, SourceState(location=str(row["location"])), now)
    return True


def health(connection: Connection) -> list[SourceHealth]:
    """Every polled source's health with its state, by id."""
    known = states(connection)
    rows = connection.execute(select(sources).order_by(sources.c.id)).mappings()
    return [SourceHealth(**dict(row), state=known.get(str(row["id"]))) for row in rows]
