"""The engine's own INSERT (with ON CONFLICT), chosen per connection in one place.

SQLAlchemy's generic ``insert`` has no ``on_conflict_do_nothing``; PostgreSQL's and SQLite's
do, with the same signature. Loaded on first use, so a command that writes nothing does not
pay for the dialects' modules at start-up."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection


def dialect_insert(connection: Connection) -> Any:
    """``insert`` of the connection's engine (PostgreSQL's or SQLite's)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
