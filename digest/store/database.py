"""Opening the database: SQLite file by default, PostgreSQL by URL.

The SQLite file's folder is created on first use and foreign keys are switched on; the
tables are created when missing, and a database made by an older schema is refused with
a clear message (Alembic migrations are not built yet).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from digest.errors import StoreError
from digest.files import make_private_file
from digest.store import member_tables  # noqa: F401 (registers its tables on metadata)
from digest.store.schema import metadata


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Write-ahead log: one fsync per commit instead of several (the outbox commits once per
    # message, see docs/benchmarks.md), and readers (the web app, `digest status`) never
    # wait for a sender. synchronous stays FULL: a commit survives a power cut too.
    # Switching a new file to WAL needs it to itself: another process switching it at the
    # same moment gets "database is locked" at once, whatever the busy timeout, so wait.
    for attempt in range(1, _LOCKED_ATTEMPTS + 1):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _LOCKED_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
    cursor.close()


_LOCKED_ATTEMPTS = 40  # about 40 s of waiting in all (0.05 s more each time)


def _create_tables(engine: Engine, attempts: int = _LOCKED_ATTEMPTS) -> None:
    """Create the missing tables. Two processes opening a new database at once (two
    `digest run --once` started together) both find them missing and both create them:
    the slower one is told a table "already exists" (or, on PostgreSQL, breaks a unique
    index of the catalogue), and tries again, finding them made."""
    for attempt in range(1, attempts + 1):
        try:
            metadata.create_all(engine)
            return
        except (OperationalError, ProgrammingError, IntegrityError) as exc:
            raced = (isinstance(exc, IntegrityError) or "already exists" in str(exc)
                     or "database is locked" in str(exc))
            if not raced or attempt == attempts:
                raise
            time.sleep(0.05 * attempt)


class Database:
    """One engine and the transactions the stages run in."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        try:
            if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                make_private_file(Path(url.removeprefix("sqlite:///")))  # members' addresses
            self.engine: Engine = create_engine(url, future=True)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _enable_sqlite_foreign_keys)
            _create_tables(self.engine)
            self._refuse_older_schema()
        except OSError as exc:
            raise StoreError(f"cannot create the database folder for {self.url}: "
                             f"{exc.strerror}") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open database {self.url}: {exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0]}") from None

    def _refuse_older_schema(self) -> None:
        """Tables are created when missing but never altered (no migrations yet): a database
        made by an older version is refused with a clear message instead of failing later
        in the middle of a send."""
        found = inspect(self.engine)
        missing = [f"{table.name}.{column.name}" for table in metadata.sorted_tables
                   for column in table.columns
                   if column.name not in {c["name"] for c in found.get_columns(table.name)}]
        missing += self._missing_autoincrement()
        if missing:
            raise StoreError(
                f"the database {self.url} was made by an older version of this product "
                f"(missing {', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}); "
                "back it up and remove it to start afresh (schema migrations are not built "
                "yet)")

    def _missing_autoincrement(self) -> list[str]:
        """SQLite tables that must never reuse an id but were made without AUTOINCREMENT."""
        if self.engine.dialect.name != "sqlite":
            return []
        with self.engine.connect() as connection:
            made: dict[str, str] = {str(name): str(sql) for name, sql in connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'").all()}
        return [f"{table.name}.id AUTOINCREMENT" for table in metadata.sorted_tables
                if table.dialect_options["sqlite"].get("autoincrement")
                and "AUTOINCREMENT" not in made.get(table.name, "").upper()]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0]}") from None

    def close(self) -> None:
        self.engine.dispose()
