"""The database's password never reaches a message: a PostgreSQL URL carries it
(``DIGEST_DATABASE_URL=postgresql://user:secret@host/db``), and the lines that name the
database (cannot open it, a schema it refuses, `digest db upgrade`, a worker losing its
queue, a second scheduler) go to terminals, logs and the journal."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine

from digest.store.database import shown_url
from tests.conftest import reset_postgres, run_digest

SECRET = "Pa55-w0rd-never-shown"


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://digest:s3cret@db.example.org:5433/digest",
     "postgresql://digest:***@db.example.org:5433/digest"),
    ("postgresql://digest:p%40ss@db/digest?sslmode=require",
     "postgresql://digest:***@db/digest?sslmode=require"),
    ("postgresql://:only-a-password@db/digest", "postgresql://:***@db/digest"),
    ("postgresql://digest@db/digest", "postgresql://digest@db/digest"),
    ("sqlite:////srv/var/digest.db", "sqlite:////srv/var/digest.db"),
    ("postgresql://db/digest?password=s3cret", "postgresql://db/digest?password=***"),
    ("postgresql://digest@db/digest?sslmode=require&PassWord=s3cret&sslpassword=k3y",
     "postgresql://digest@db/digest?sslmode=require&PassWord=***&sslpassword=***"),
    ("postgresql://digest:a@db/digest?%70assword=s3cret",
     "postgresql://digest:***@db/digest?%70assword=***"),
    ("postgresql://db/digest?sslmode=require", "postgresql://db/digest?sslmode=require"),
])
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def _with_password(url: str) -> str:
    """``url`` with the test password added (the local server trusts 127.0.0.1, so any
    password opens it: the URL works and carries a secret)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}:{SECRET}@{host}"))


def _workers(project: Path) -> None:
    config = project / "schedules.yaml"
    config.write_text(config.read_text(encoding="utf-8")
                      + "workers: {enabled: true}\n", encoding="utf-8")


@pytest.mark.parametrize("command", [("status",), ("worker",), ("db", "upgrade")])
def test_a_database_that_cannot_be_opened_is_named_without_its_password(
        project: Path, command: tuple[str, ...]) -> None:
    _workers(project)
    url = f"postgresql://digest:{SECRET}@127.0.0.1:9/digest"  # nothing listens on port 9
    result = run_digest(project, *command, env={"DIGEST_DATABASE_URL": url})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "postgresql://digest:***@127.0.0.1:9/digest" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_the_upgrade_and_a_refused_schema_name_it_without_its_password(
        project: Path, postgres_url: str) -> None:
    reset_postgres(postgres_url)
    url = _with_password(postgres_url)
    env = {"DIGEST_DATABASE_URL": url}
    upgraded = run_digest(project, "db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert shown_url(url) in upgraded.stdout
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as connection:  # as a newer version would leave it
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
        refused = run_digest(project, "status", env=env)
    finally:
        engine.dispose()
        reset_postgres(postgres_url)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"the database {shown_url(url)} is at schema revision 9999" in refused.stderr
    for result in (upgraded, refused):
        assert SECRET not in result.stdout + result.stderr


def test_a_password_in_the_query_is_never_shown(project: Path, postgres_url: str) -> None:
    """libpq reads ``?password=`` as well as ``user:password@``: both are secrets."""
    reset_postgres(postgres_url)
    _workers(project)
    env = {"DIGEST_DATABASE_URL": f"{postgres_url}?password={SECRET}"}
    try:
        results = [run_digest(project, "db", "upgrade", env=env),
                   run_digest(project, "status", env=env),
                   run_digest(project, "run", "--once", env=env)]
        dead = run_digest(project, "status", env={
            "DIGEST_DATABASE_URL": f"postgresql://digest@127.0.0.1:9/digest?password={SECRET}"})
    finally:
        reset_postgres(postgres_url)
    assert [result.returncode for result in [*results, dead]] == [0, 0, 0, 2], \
        [result.stderr for result in [*results, dead]]
    assert "?password=***: schema revision empty -> " in results[0].stdout
    assert "postgresql://digest@127.0.0.1:9/digest?password=***" in dead.stderr
    for result in [*results, dead]:
        assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize(("netloc", "says"), [
    (f"digest:{SECRET[:4]}@{SECRET[4:]}@127.0.0.1", "holds '@': write it %40"),
    (f"digest:{SECRET}@127.0.0.1:port", "host or port cannot be read"),
    (f"digest:{SECRET}@127.0.0.1:99999", "host or port cannot be read"),
    (f"digest:{SECRET}@[::1", "host or port cannot be read"),
])
@pytest.mark.parametrize("where", ["environment", "file"])
def test_a_url_that_readers_would_split_differently_is_refused_naming_its_key(
        project: Path, netloc: str, says: str, where: str) -> None:
    """An unencoded '@' made the driver name the password's tail as the host; a port
    that is not a number made a traceback: both are refused before anything opens."""
    url = f"postgresql://{netloc}/digest"
    config = project / "schedules.yaml"
    env: dict[str, str] = {}
    if where == "file":
        config.write_text(config.read_text(encoding="utf-8").replace(
            "database: sqlite:///var/digest.db", f'database: "{url}"'), encoding="utf-8")
        key = "site.database"
    else:
        env = {"DIGEST_DATABASE_URL": url}
        key = "DIGEST_DATABASE_URL"
    result = run_digest(project, "status", env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    problem = [line for line in result.stderr.splitlines() if key in line]
    assert len(problem) == 1 and says in problem[0], result.stderr
    assert "Traceback" not in result.stderr
    for part in (SECRET[:4], SECRET[4:]):
        assert part not in result.stdout + result.stderr
