"""Whether a JSON list column (a member's digests, an item's themes) holds a value, asked in
SQL so the database filters the rows, not Python after reading them all.

The two databases say it differently: PostgreSQL tests containment of the list as ``jsonb``
(``@>``), SQLite walks its elements with ``json_each``. Both compare whole elements, as
``value in list`` does in Python. PostgreSQL's dialect is loaded only on PostgreSQL: on
SQLite it would cost every command's start-up a few MiB and tens of milliseconds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ColumnElement, Connection, cast, exists, func, literal, select


def holds(connection: Connection, column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    """``value in column`` for a JSON list of strings, in this connection's SQL."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return cast(column, JSONB).contains(cast(literal([value], JSON), JSONB))
    each = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == value))
