"""Schema migrations (issue 13, section 1): a database made before migrations, with data in
every table, is upgraded by `digest db upgrade` on SQLite and on PostgreSQL with nothing
lost; every other command refuses a database behind the code with one line naming that
command; the models and the migrations agree (Alembic's autogenerate finds no difference).

The databases "made before migrations" are the schema the product made just before them,
as SQLite's and PostgreSQL's own dumps (``tests/fixtures/schema/``), not rebuilt from the
migrations under test.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    create_engine,
    inspect,
    select,
)
from sqlalchemy.types import TypeEngine

from digest.store import Database, member_tables, migrate
from digest.store.job_queue import has_queue
from digest.store.migrate import Standing
from digest.store.schema import metadata
from tests.conftest import reset_postgres, run_digest

FIXTURES = Path(__file__).parent / "fixtures" / "schema"
# What revision 0002 adds: the tables of store.member_tables, children first (to drop them).
MEMBER_TABLES = [table.name for table in reversed(metadata.sorted_tables)
                 if isinstance(getattr(member_tables, table.name, None), Table)]
CONSOLE_TABLES = ("audit_log", "bulletin_reviews", "console_links", "console_sessions",
                  "curations", "edition_notes")


@pytest.fixture(params=["sqlite", "postgres"])
def old_database(request: pytest.FixtureRequest, project: Path) -> Iterator[str]:
    """The URL of a database made by the version before migrations (from its dump)."""
    if request.param == "sqlite":
        path = project / "var" / "digest.db"
        path.parent.mkdir(exist_ok=True)
        with sqlite3.connect(path) as connection:
            connection.executescript((FIXTURES / "before_migrations.sqlite.sql").read_text())
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute((FIXTURES / "before_migrations.postgresql.sql").read_text())
    yield url
    _empty_postgres(url)


def _empty_postgres(url: str) -> None:
    reset_postgres(url)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS alembic_version")


def _engine(url: str) -> Engine:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def _value(table: str, column: str, kind: TypeEngine[Any], length: int | None) -> object:
    """A value of the column's type, distinct per table and column, that reads back equal."""
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, DateTime):
        return datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
    if isinstance(kind, JSON):
        return ["a", table]
    return f"{table}.{column} ü"[: length or None]


def _fill_every_table(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """One row in every table of the old schema (parents first, ids 1, so each foreign key
    points at a row); what each table holds afterwards."""
    engine = _engine(url)
    found = MetaData()
    found.reflect(engine)
    with engine.begin() as connection:
        for table in found.sorted_tables:
            connection.execute(table.insert().values({
                column.name: _value(table.name, column.name, column.type,
                                    getattr(column.type, "length", None))
                for column in table.columns}))
    held = _contents(engine, found)
    engine.dispose()
    assert set(held) >= {"items", "subscribers", "deliveries", "editions", *CONSOLE_TABLES}
    assert all(len(rows) == 1 for rows in held.values())
    return held


def _contents(engine: Engine, tables: MetaData) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {table.name: [tuple(row) for row in connection.execute(select(table))]
                for table in tables.sorted_tables}


def test_a_database_made_before_migrations_upgrades_with_nothing_lost(
        old_database: str, project: Path) -> None:
    held = _fill_every_table(old_database)
    env = {"DIGEST_DATABASE_URL": old_database}
    refused = run_digest(project, "status", env=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "made before migrations" in refused.stderr
    assert "run `digest db upgrade`" in refused.stderr

    upgraded = run_digest(project, "db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"made before migrations -> {migrate.head()}" in upgraded.stdout

    engine = _engine(old_database)
    found = MetaData()
    found.reflect(engine, only=list(held))
    assert _contents(engine, found) == held  # every row of every table, as it was
    with engine.connect() as connection:
        assert migrate.revision_of(connection).standing is Standing.CURRENT
    engine.dispose()
    Database(old_database).close()  # what every command opens first: refused no more
    again = run_digest(project, "db", "upgrade", env=env)
    assert again.returncode == 0 and "already at schema revision" in again.stdout


def test_a_database_older_still_gains_the_tables_it_lacks(old_database: str) -> None:
    """The version before the console had none of its tables: the baseline adds them."""
    engine = _engine(old_database)
    with engine.begin() as connection:
        for name in CONSOLE_TABLES:
            connection.exec_driver_sql(f"DROP TABLE {name}")
    with engine.connect() as connection:
        before = migrate.revision_of(connection)
    assert before.standing is Standing.BEHIND and before.found is None
    assert set(CONSOLE_TABLES) <= set(before.missing)
    migrate.upgrade(engine, old_database)
    with engine.connect() as connection:
        assert migrate.revision_of(connection).standing is Standing.CURRENT
    engine.dispose()
    Database(old_database).close()  # opened by every command, refused no more


def test_a_database_older_than_the_first_revision_is_refused_by_the_upgrade(
        project: Path) -> None:
    path = project / "var" / "digest.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE deliveries (id INTEGER PRIMARY KEY, edition_id INTEGER)")
    result = run_digest(project, "db", "upgrade")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "older than the first schema revision" in result.stderr
    assert "deliveries.subscriber_id" in result.stderr
    with sqlite3.connect(path) as connection:  # left as it was
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert names == {"deliveries"}


@pytest.mark.parametrize("command", [("status",), ("collect",), ("run", "--once"),
                                     ("serve", "--local")])
def test_every_command_refuses_a_database_behind_the_code(project: Path,
                                                          command: tuple[str, ...]) -> None:
    url = f"sqlite:///{project / 'var' / 'digest.db'}"
    Database(url).close()
    engine = _engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
        for name in (*MEMBER_TABLES, "job_reports", "edition_variants"):  # 0002 and 0003 add
            connection.exec_driver_sql(f"DROP TABLE {name}")
    engine.dispose()
    result = run_digest(project, *command)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"digest: the database {url} is at schema revision 0001; this version needs "
        f"revision {migrate.head()}: back it up and run `digest db upgrade`"]
    assert run_digest(project, "db", "upgrade").returncode == 0
    assert run_digest(project, "status").returncode == 0


def test_a_database_of_a_newer_version_is_refused_and_left_alone(project: Path) -> None:
    url = f"sqlite:///{project / 'var' / 'digest.db'}"
    Database(url).close()
    engine = _engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00d'")
    for command in (("status",), ("db", "upgrade")):
        result = run_digest(project, *command)
        assert result.returncode == 2 and "made by a newer version" in result.stderr
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [
            ("f00d",)]
    engine.dispose()


def test_a_new_database_is_made_at_the_newest_revision(db: Database) -> None:
    with db.engine.connect() as connection:
        revision = migrate.revision_of(connection)
    assert revision.standing is Standing.CURRENT and revision.found == migrate.head()


def _index_name(difference: Any) -> str | None:
    """The index an autogenerate difference is about, if any."""
    if isinstance(difference, tuple) and difference and difference[0].endswith("_index"):
        return str(difference[1].name)
    return None


def _not_the_queue(name: str | None, type_: str, parent_names: object) -> bool:
    return not (name or "").startswith("procrastinate_")


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_new_postgres_database_has_the_queue_as_revision_0003_makes_it(
        dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """A database made new by any command (not upgraded) holds the same schema as one
    upgraded through every revision: procrastinate's queue on PostgreSQL, none on SQLite."""
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'new.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        _empty_postgres(url)
    database = Database(url)
    with database.transaction() as connection:
        assert has_queue(connection) is (dialect == "postgres")
        assert migrate.revision_of(connection).standing is Standing.CURRENT
    database.close()
    if dialect == "postgres":
        _empty_postgres(url)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_the_models_and_the_migrations_agree(dialect: str, request: pytest.FixtureRequest,
                                             tmp_path: Path) -> None:
    """Every revision run on an empty database gives the schema the models describe."""
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        _empty_postgres(url)
    engine = _engine(url)
    before, after = migrate.upgrade(engine, url)
    assert before.standing is Standing.EMPTY and after.standing is Standing.CURRENT
    with engine.connect() as connection, warnings.catch_warnings():
        # SQLite cannot reflect the feeds' expression index: it is compared on PostgreSQL.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        # procrastinate's own tables (revision 0003, PostgreSQL only) are not our models.
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_name": _not_the_queue})
        differences = compare_metadata(context, metadata)
        assert has_queue(connection) is (dialect == "postgres")
        # PostgreSQL gives the expression index back in its own words, which Alembic cannot
        # compare with the model's: its expression is checked here instead.
        assert [d for d in differences if _index_name(d) != "ix_items_shown_published"] == []
        if dialect == "postgres":
            (made,) = connection.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_items_shown_published'")
            assert "".join(made[0].split()).endswith(
                "((CASEWHEN(published>first_seen)THENfirst_seenELSEpublishedEND))")
    engine.dispose()
    if dialect == "postgres":
        _empty_postgres(url)


def test_the_head_every_command_checks_is_the_scripts_head(tmp_path: Path) -> None:
    """Opening the store compares ``alembic_version`` with ``migrate.HEAD`` by a plain query
    (Alembic stays unloaded): a new revision must move that constant, and the plain query
    must read what Alembic reads."""
    assert migrate.scripts_head() == migrate.HEAD
    database = Database(f"sqlite:///{tmp_path / 'head.db'}")
    with database.engine.connect() as connection:
        found = migrate.recorded_revision(connection)
        assert found == MigrationContext.configure(connection).get_current_revision()
    database.close()
    assert found == migrate.HEAD


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_new_database_records_its_revision_as_alembic_stamp_does(
        dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """The plain record of ``HEAD`` on a new database (Alembic unloaded) is the table and
    the row Alembic's own ``stamp head`` makes: same columns, key, and revision."""
    from alembic import command

    if dialect == "sqlite":
        ours, theirs = (f"sqlite:///{tmp_path / 'ours.db'}",
                        f"sqlite:///{tmp_path / 'theirs.db'}")
    else:
        ours = theirs = request.getfixturevalue("postgres_url")
        _empty_postgres(ours)
    Database(ours).close()
    made = _version_table(ours)
    if dialect == "postgres":
        _empty_postgres(theirs)
    engine = _engine(theirs)
    with engine.begin() as connection:
        metadata.create_all(connection)
        command.stamp(migrate.alembic_config(connection), "head")
    engine.dispose()
    assert made == _version_table(theirs)
    assert made[-1] == [(migrate.HEAD,)]
    if dialect == "postgres":
        _empty_postgres(theirs)


def _version_table(url: str) -> tuple[Any, ...]:
    engine = _engine(url)
    with engine.connect() as connection:
        found = inspect(connection)
        columns = [(c["name"], str(c["type"]), c["nullable"])
                   for c in found.get_columns("alembic_version")]
        key = found.get_pk_constraint("alembic_version")
        rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    engine.dispose()
    return columns, key["constrained_columns"], key.get("name"), [tuple(row) for row in rows]


def test_making_a_new_database_leaves_alembic_unloaded(tmp_path: Path) -> None:
    """A first command on a new database makes and records its schema without Alembic and
    its templates (their memory and import time are a first run's)."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    script = ("import sys\nfrom digest.store import Database\n"
              f"Database({url!r}).close()\n"
              "print(sorted(name for name in sys.modules if name.split('.')[0] in "
              "('alembic', 'mako', 'pygments')))")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, cwd=Path(__file__).parent.parent)
    assert found.stdout.strip() == "[]"
    database = Database(url)
    with database.engine.connect() as connection:
        assert migrate.revision_of(connection).standing is Standing.CURRENT
    database.close()
