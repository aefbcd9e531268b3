"""Shared fixtures: a private copy of the project per test, the CLI, and real services.

Tests that need a service this machine lacks skip with a loud reason, unless
``DIGEST_REQUIRE_SERVICES=1`` (set by .ci/run), where the same absence fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from digest.store import Database

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_NOW = "2019-03-18T08:00:00+01:00"


def need_service(reason: str) -> None:
    """Skip (locally) or fail (in CI) when a required service is missing."""
    message = f"SERVICE MISSING: {reason}"
    if os.environ.get("DIGEST_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (mandatory because DIGEST_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's config and sample content, so outputs stay in tmp."""
    shutil.copy(ROOT / "schedules.yaml", tmp_path / "schedules.yaml")
    shutil.copytree(ROOT / "sample", tmp_path / "sample")
    return tmp_path


def run_digest(project: Path, *args: str, now: str | None = SAMPLE_NOW,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``digest`` command in ``project`` as a user would."""
    command = [sys.executable, "-m", "digest"]
    if now:
        command += ["--now", now]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    environment.update(env or {})
    return subprocess.run([*command, *args], cwd=project, capture_output=True, text=True,
                          env=environment, timeout=300, check=False)


SAMPLE_BULLETIN_SLUG = "2019-03-wg-smart-social-inclusion"


def approve_sample_bulletin(project: Path, env: dict[str, str] | None = None,
                            now: str | None = SAMPLE_NOW) -> None:
    """Approve the seed bulletin as a coordinator would (``digest approve``, overriding its
    seven placeholder links with a reason), for tests about what happens once it may go
    out. Its file must not change afterwards: an edit makes it a draft again."""
    done = run_digest(project, "approve", f"bulletin:{SAMPLE_BULLETIN_SLUG}", "--reason",
                      "the placeholder links are known", env=env, now=now)
    assert done.returncode == 0, done.stdout + done.stderr


def clean_sample_bulletin(project: Path) -> None:
    """Give the seed bulletin's seven placeholder links a target and turn the bulletins'
    approval off, so it goes out by itself (for tests about something else that must not
    touch the store before their first run)."""
    bulletin = project / "sample" / "bulletins" / f"{SAMPLE_BULLETIN_SLUG}.md"
    bulletin.write_text(bulletin.read_text().replace("](#)", "](https://www.eurocities.eu/)"))
    config = project / "schedules.yaml"
    text = config.read_text()
    old = "bulletins: {path: sample/bulletins, audience: weekly}"
    assert old in text
    config.write_text(text.replace(old, old[:-1] + ", approval: false}"))


@pytest.fixture(params=["sqlite", "postgres"])
def sample_ctx(request: pytest.FixtureRequest, project: Path) -> Iterator[Any]:
    """A jobs ``Context`` on the sample project at ``SAMPLE_NOW`` (a ``ManualClock``), its
    store once on SQLite and once on the real PostgreSQL."""
    from datetime import datetime

    from digest.config import Environment, load_settings
    from digest.jobs.context import Context
    from digest.testing import ManualClock

    environ = {"DIGEST_SECRET_KEY": "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"}
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
        environ["DIGEST_DATABASE_URL"] = url
    context = Context(settings=load_settings(project / "schedules.yaml"),
                      env=Environment.read(environ),
                      clock=ManualClock(datetime.fromisoformat(SAMPLE_NOW)))
    yield context
    context.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL database, emptied before use."""
    url = os.environ.get("DIGEST_TEST_POSTGRES_URL",
                         "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as exc:
        need_service(f"PostgreSQL at {url}: {exc}")
    yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty store, once on an SQLite file and once on the real PostgreSQL."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'var' / 'digest.db'}")
    else:
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
        database = Database(url)
    yield database
    database.close()


def reset_postgres(url: str) -> None:
    """Drop the product's tables and procrastinate's queue (types, functions, tables) so
    each test starts from an empty schema."""
    from sqlalchemy import create_engine

    from digest.store.job_queue import drop_queue_schema
    from digest.store.schema import metadata

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        drop_queue_schema(connection)
    metadata.drop_all(engine)
    with engine.begin() as connection:  # the schema's revision goes with its tables
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium (driven by Playwright), one per test module."""
    from tests.external_tools import CHROMIUM_ARGS, chromium_path

    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()

