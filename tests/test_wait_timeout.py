"""`digest run --once --wait --timeout SECONDS` in worker mode never hangs a cron line: with
no worker running, it gives up after SECONDS, names every job it queued that is not done,
exits 1, and leaves those jobs queued for the next worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import reset_postgres, run_digest

SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"


def test_wait_gives_up_after_its_timeout_and_names_the_jobs_left(
        project: Path, postgres_url: str) -> None:
    reset_postgres(postgres_url)
    with (project / "schedules.yaml").open("a") as config:
        config.write("\nworkers: {enabled: true}\n")
    env = {"DIGEST_DATABASE_URL": postgres_url, "DIGEST_SECRET_KEY": SECRET}
    try:
        result = run_digest(project, "run", "--once", "--wait", "--timeout", "2", env=env)
        assert result.returncode == 1, result.stdout + result.stderr
        left = [line for line in result.stdout.splitlines() + result.stderr.splitlines()
                if "not finished: not done within --timeout 2 s; it runs all the same" in line]
        engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as connection:
            queued = connection.execute(text(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")).scalar()
        engine.dispose()
        # the polls were queued and nobody ran them: each is named, and still queued
        assert queued and len(left) == queued, result.stdout + result.stderr
        assert any("poll_source" in line for line in left)
    finally:
        reset_postgres(postgres_url)


@pytest.mark.parametrize("seconds", ["0", "٣", "1.5", "-1", "604801"])
def test_the_timeout_is_a_whole_number_of_seconds(project: Path, seconds: str) -> None:
    result = run_digest(project, "run", "--once", "--wait", "--timeout", seconds)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"argument --timeout: expected a whole number from 1 to 604800, got {seconds!r}"
            in result.stderr)


def test_a_timeout_without_wait_is_refused_before_anything_runs(project: Path) -> None:
    """`run --once --timeout 600` in a cron line reads as bounded, yet nothing waited: the
    timeout was silently ignored."""
    result = run_digest(project, "run", "--once", "--timeout", "600")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "digest: run: --timeout bounds --wait, which is missing: without it `run --once` "
        "does not wait for anything; add --wait or drop --timeout"]
    assert not (project / "var").exists()  # nothing opened, collected or sent
