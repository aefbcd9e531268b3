"""Worker mode on a database whose queue is gone (procrastinate's tables dropped, or the
server lost under a command): `digest status` says so and exits 1 instead of leaving the
queue block out; `digest worker` and `digest run --once` stop with one line naming the
driver's cause (not procrastinate's bare "Database error.", nor a traceback), exit 1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from digest.store.job_queue import drop_queue_schema
from tests.conftest import reset_postgres, run_digest

SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"


@pytest.fixture
def lost_queue(project: Path, postgres_url: str) -> Iterator[dict[str, str]]:
    """The sample with workers on a PostgreSQL database made whole, then its queue dropped."""
    reset_postgres(postgres_url)
    with (project / "schedules.yaml").open("a") as config:
        config.write("\nworkers: {enabled: true}\n")
    env = {"DIGEST_DATABASE_URL": postgres_url, "DIGEST_SECRET_KEY": SECRET}
    made = run_digest(project, "status", env=env)
    assert made.returncode == 0 and "queue (procrastinate_jobs" in made.stdout, made.stderr
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        drop_queue_schema(connection)
    engine.dispose()
    try:
        yield env
    finally:
        reset_postgres(postgres_url)


def test_status_says_the_queue_is_missing(project: Path, lost_queue: dict[str, str]) -> None:
    result = run_digest(project, "status", env=lost_queue)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith(
        "queue: MISSING: procrastinate's tables are not in the database")


@pytest.mark.parametrize(("command", "who"), [(("worker",), "worker"),
                                              (("run", "--once"), "run --once"),
                                              (("run", "--once", "--wait"), "run --once")])
def test_a_command_that_loses_the_queue_says_why_in_one_line(
        project: Path, lost_queue: dict[str, str], command: tuple[str, ...], who: str) -> None:
    result = run_digest(project, *command, env=lost_queue)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"digest: {who} stopped: the queue at ")
    assert re.search(r"failed: Undefined(Table|Function|Object): \w+ \"?procrastinate_"
                     r".* does not exist$", lines[0]), lines[0]
