"""Which revision of the schema a database is at, and bringing it to this version's.

The schema's history is Alembic's (``migrations/versions``); revision 0001 is the schema as it
was when migrations began. Opening a store (``Database``) never changes an existing schema:
a new, empty database is made at once at the newest revision, one at that revision is used,
and any other is refused with one line naming ``digest db upgrade``, which is the only
thing that alters a schema (run with the service stopped, after a backup: docs/deploy.md).

A database made before migrations has no ``alembic_version`` table: if it already holds
the whole current schema it is recorded as current; otherwise ``digest db upgrade`` runs
every revision on it, the baseline creating only the tables it lacks.

Every command opens the store, so the usual case (a database at ``HEAD``) is told by one
plain query of ``alembic_version``, and a new database is recorded at ``HEAD`` by one plain
insert: Alembic, its scripts and the schema's comparison are loaded only for a database
that is behind (tests/test_migrations.py checks ``HEAD`` against the scripts' head).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
)

from digest.errors import StoreError
from digest.store.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPTS = Path(__file__).parent / "migrations"
UPGRADE_COMMAND = "digest db upgrade"
HEAD = "0004"  # the newest revision in migrations/versions: move it with each new one


class Standing(StrEnum):
    EMPTY = "empty"  # no table of ours: made now, at the newest revision
    CURRENT = "current"  # at the newest revision
    UNRECORDED = "unrecorded"  # made before migrations, holding the whole current schema
    BEHIND = "behind"  # an older revision, or made before migrations with less
    AHEAD = "ahead"  # a revision this version does not know: made by a newer one


@dataclass(frozen=True)
class Revision:
    standing: Standing
    found: str | None  # the database's revision (None: not recorded)
    head: str  # this version's
    missing: tuple[str, ...] = ()  # what the current schema has that the database lacks


def alembic_config(connection: Connection) -> Config:
    """A configuration without a file: the scripts in this package, on ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """This version's revision."""
    return HEAD


def scripts_head() -> str:
    """The newest revision as Alembic reads it from the scripts (what ``HEAD`` must be)."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory(str(SCRIPTS)).get_current_head()
    assert found is not None, "no revision in digest/store/migrations/versions"
    return found


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(script.revision for script in ScriptDirectory(str(SCRIPTS)).walk_revisions())


def recorded_revision(connection: Connection) -> str | None:
    """The revision in ``alembic_version`` by a plain query (Alembic unloaded); None when
    the table is absent or empty, as Alembic's ``get_current_revision`` says."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    if len(rows) > 1:  # branches: never made by this product's linear history
        raise StoreError(f"the database records {len(rows)} schema revisions "
                         f"({', '.join(str(row[0]) for row in rows)}); expected one")
    return str(rows[0][0]) if rows else None


def revision_of(connection: Connection) -> Revision:
    """Where the database on ``connection`` stands against this version's schema."""
    newest = head()
    found = recorded_revision(connection)
    if found is not None:
        standing = (Standing.CURRENT if found == newest
                    else Standing.BEHIND if found in known_revisions() else Standing.AHEAD)
        return Revision(standing, found, newest)
    present = set(inspect(connection).get_table_names())
    if not present & set(metadata.tables):
        return Revision(Standing.EMPTY, None, newest)
    missing = tuple(_missing(connection, present))
    return Revision(Standing.BEHIND if missing else Standing.UNRECORDED, None, newest, missing)


def _missing(connection: Connection, present: set[str]) -> list[str]:
    """The tables, columns and SQLite AUTOINCREMENT rules of the current schema that the
    database lacks."""
    found = inspect(connection)
    missing: list[str] = []
    for table in metadata.sorted_tables:
        if table.name not in present:
            missing.append(table.name)
            continue
        columns = {column["name"] for column in found.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in columns]
    if connection.dialect.name == "sqlite":
        made = {str(name): str(sql).upper() for name, sql in connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'").all()}
        missing += [f"{table.name}.id AUTOINCREMENT" for table in metadata.sorted_tables
                    if table.dialect_options["sqlite"].get("autoincrement")
                    and table.name in made and "AUTOINCREMENT" not in made[table.name]]
    return missing


def refusal(url: str, revision: Revision) -> StoreError:
    """The one line every command but the upgrade gives for a database it cannot use."""
    if revision.standing is Standing.AHEAD:
        return StoreError(
            f"the database {url} is at schema revision {revision.found}, made by a newer "
            f"version of this product (this one knows up to {revision.head}): run that "
            "version, or restore a backup made before it")
    shown = (f"made before migrations (it lacks {_listed(revision.missing)})"
             if revision.found is None else f"at schema revision {revision.found}")
    return StoreError(f"the database {url} is {shown}; this version needs revision "
                      f"{revision.head}: back it up and run `{UPGRADE_COMMAND}`")


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")


# Alembic's record of the revision, as its ``stamp`` makes it (a table of its own, outside
# the schema's ``metadata``); tests/test_migrations.py checks the two agree.
_VERSIONS = Table("alembic_version", MetaData(),
                  Column("version_num", String(32), nullable=False),
                  PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))


def stamp_current(connection: Connection) -> None:
    """Record the newest revision on a schema made whole by ``metadata.create_all``, as
    Alembic's ``stamp head`` does, without loading Alembic and its templates (a sixth of
    a first command's memory, on every new database)."""
    _VERSIONS.create(connection, checkfirst=True)
    connection.execute(_VERSIONS.delete())
    connection.execute(_VERSIONS.insert().values(version_num=HEAD))


def upgrade(engine: Engine, url: str) -> tuple[Revision, Revision]:
    """Bring the database to the newest revision: (before, after). A database of a newer
    version, or made before migrations with tables the baseline cannot complete, is
    refused."""
    with engine.begin() as connection:
        before = revision_of(connection)
        if before.standing is Standing.AHEAD:
            raise refusal(url, before)
        if before.standing is Standing.UNRECORDED:
            stamp_current(connection)
        elif before.standing is not Standing.CURRENT:
            _check_baseline_columns(connection, url, before)
            from alembic import command

            command.upgrade(alembic_config(connection), "head")
        after = revision_of(connection)
    return before, after


def _check_baseline_columns(connection: Connection, url: str, before: Revision) -> None:
    """A database from before migrations whose tables lack columns predates the baseline
    itself: no revision can complete it (the baseline only adds missing tables)."""
    if before.found is not None:
        return
    partial = [name for name in before.missing if "." in name]
    if partial:
        raise StoreError(f"the database {url} was made by a version older than the first "
                         f"schema revision (it lacks {_listed(tuple(partial))}); back it up "
                         "and remove it to start afresh")
