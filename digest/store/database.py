"""Opening the database: SQLite file by default, PostgreSQL by URL.

The SQLite file's folder is created on first use and foreign keys are switched on; a new
database is made at the schema's newest revision, and one at another revision is refused
with one line naming `digest db upgrade` (``migrate``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from digest.errors import StoreError
from digest.files import make_private_file
from digest.store import (
    job_queue,
    member_tables,  # noqa: F401 (registers its tables on metadata)
    migrate,
)
from digest.store.migrate import Standing
from digest.store.schema import metadata


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    import sqlite3  # on SQLite only: a PostgreSQL command does not load it

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


def _open_schema(engine: Engine, url: str, attempts: int = _LOCKED_ATTEMPTS) -> None:
    """Use a database at this version's revision, make an empty one at it, and refuse any
    other (``migrate.refusal``: one line naming ``digest db upgrade``).

    Making it holds the database's write lock (SQLite's ``BEGIN IMMEDIATE``, a PostgreSQL
    advisory lock) from the look to the record, so two processes opening a new database at
    once (two `digest run --once`) make it once: the second waits, then finds it made."""
    with engine.connect() as connection:
        if migrate.revision_of(connection).standing is Standing.CURRENT:
            return
    for attempt in range(1, attempts + 1):
        try:
            with engine.connect() as connection:
                _lock_schema(connection)
                revision = migrate.revision_of(connection)
                if revision.standing in (Standing.EMPTY, Standing.UNRECORDED):
                    if revision.standing is Standing.EMPTY:
                        metadata.create_all(connection)
                        job_queue.create_queue_schema(connection)  # as revision 0003 does
                    migrate.stamp_current(connection)
                connection.commit()
            if revision.standing in (Standing.EMPTY, Standing.UNRECORDED, Standing.CURRENT):
                return
            raise migrate.refusal(url, revision)
        except (OperationalError, ProgrammingError, IntegrityError) as exc:
            raced = (isinstance(exc, IntegrityError) or "already exists" in str(exc)
                     or "database is locked" in str(exc))
            if not raced or attempt == attempts:
                raise
            time.sleep(0.05 * attempt)


_SCHEMA_LOCK = 0x64696765  # PostgreSQL advisory lock key for making the schema ("dige")


def _lock_schema(connection: Connection) -> None:
    """Hold the lock that makes looking at and making the schema one step (see above)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")


# libpq's parameters that carry a secret when given in the URL's query (``?password=``).
_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


def shown_url(url: str) -> str:
    """The URL as messages may show it: its password, in the user part or the query
    (``?password=``, ``?sslpassword=``), replaced by ``***`` (a message goes to logs,
    terminals and the journal; the password stays in the environment)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL one can split: show its scheme only
        return url.split(":", 1)[0] + "://***"
    if password is None and not any(
            unquote_plus(pair.partition("=")[0]).lower() in _SECRET_PARAMETERS
            for pair in parts.query.split("&")):
        return url
    if password is not None:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    if parts.query:
        pairs = [pair.partition("=") for pair in parts.query.split("&")]
        parts = parts._replace(query="&".join(
            name + equals + ("***" if equals and unquote_plus(name).lower()
                             in _SECRET_PARAMETERS else value) for name, equals, value in pairs))
    return urlunsplit(parts)


class Database:
    """One engine and the transactions the stages run in; ``url`` opens it, ``shown`` (the
    same without its password) is what messages name."""

    def __init__(self, url: str, *, check_schema: bool = True) -> None:
        """``check_schema`` False: open without looking at the schema (``digest db
        upgrade``, which changes it)."""
        self.url = url
        self.shown = shown_url(url)
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        try:
            if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                make_private_file(Path(url.removeprefix("sqlite:///")))  # members' addresses
            self.engine: Engine = create_engine(url, future=True)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _enable_sqlite_foreign_keys)
            if check_schema:
                _open_schema(self.engine, self.shown)
        except OSError as exc:
            raise StoreError(f"cannot create the database folder for {self.shown}: "
                             f"{exc.strerror}") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open database {self.shown}: {exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0]}") from None
        except ValueError:  # a URL the checks let through but SQLAlchemy cannot split
            raise StoreError(f"cannot open database {self.shown}: its URL cannot be read "
                             "(host, port, or an unencoded '@' or '/' in the password)"
                             ) from None

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

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A connection held for a while on which every statement is its own transaction,
        durable when it returns: for a loop of single-statement writes (the outbox's claims
        and ``sent`` marks on PostgreSQL), sparing a BEGIN and a COMMIT round trip each."""
        try:
            with self.engine.connect() as connection:
                yield connection.execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0]}") from None

    def close(self) -> None:
        self.engine.dispose()
