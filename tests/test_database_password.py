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
