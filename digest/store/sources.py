"""Each source's health: when it last worked, its last error, how often it failed in a row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from digest.store.schema import sources


@dataclass(frozen=True)
class SourceHealth:
    id: str
    location: str
    last_attempt: datetime | None
    last_success: datetime | None
    last_error: str | None
    consecutive_failures: int
    items_seen: int


def record(connection: Connection, source_id: str, location: str, now: datetime,
           error: str | None, items_seen: int) -> None:
    """Record one poll of a source, successful when ``error`` is None."""
    row = connection.execute(select(sources).where(sources.c.id == source_id)).mappings().first()
    if row is None:
        connection.execute(sources.insert().values(
            id=source_id, location=location, consecutive_failures=0, items_seen=0))
        failures = 0
    else:
        failures = row["consecutive_failures"]
    values: dict[str, object] = {"location": location, "last_attempt": now}
    if error is None:
        values.update(last_success=now, last_error=None, consecutive_failures=0,
                      items_seen=items_seen)
    else:
        values.update(last_error=error, consecutive_failures=failures + 1)
    connection.execute(sources.update().where(sources.c.id == source_id).values(**values))


def health(connection: Connection) -> list[SourceHealth]:
    rows = connection.execute(select(sources).order_by(sources.c.id)).mappings()
    return [SourceHealth(**dict(row)) for row in rows]
