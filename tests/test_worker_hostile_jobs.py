"""Rows anyone who can write ``procrastinate_jobs`` can queue, run by a real `digest
worker` on PostgreSQL: arguments that are no JSON object (procrastinate failed while naming
such a job and left it "doing" for ever, so `run --once --wait` and `digest status` saw it
running), and arguments that do not fit the task (tried four more times, though no retry
can change them). Each is failed at once, the worker goes on, and the good job beside
them runs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.test_workers import Workers, workers  # noqa: F401 (the fixture)

HOSTILE = ["[1, 2]", '"innovation"', "null", "7",
           '{"source_id": "innovation", "bogus": 1}', "{}"]


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    found = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    yield found
    found.dispose()


def _queue(engine: Engine, args: str) -> int:
    with engine.begin() as connection:
        return int(connection.execute(text(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args) VALUES "
            "('default', 'digest.poll_source', CAST(:args AS jsonb)) RETURNING id"),
            {"args": args}).scalar_one())


def _states(engine: Engine, ids: list[int]) -> dict[int, tuple[str, int]]:
    with engine.begin() as connection:
        return {int(row[0]): (str(row[1]), int(row[2])) for row in connection.execute(text(
            "SELECT id, status::text, attempts FROM procrastinate_jobs WHERE id = ANY(:ids)"),
            {"ids": ids})}


def test_jobs_with_hostile_arguments_fail_at_once_and_the_others_run(
        workers: Workers, engine: Engine, project: Path) -> None:  # noqa: F811
    assert workers.run("status").returncode == 0  # makes the database
    hostile = [_queue(engine, args) for args in HOSTILE]
    good = _queue(engine, json.dumps({"source_id": "innovation"}))
    process = workers.start()
    deadline = time.monotonic() + 60
    while (states := _states(engine, [*hostile, good])) and any(
            status in ("todo", "doing") for status, _ in states.values()):
        assert time.monotonic() < deadline, states
        time.sleep(0.2)
    assert states == {**{job: ("failed", 1) for job in hostile}, good: ("succeeded", 1)}
    assert process.poll() is None  # the worker goes on
    status = workers.run("status")
    assert status.returncode == 0, status.stderr
    assert f"digest.poll_source: 0 queued, 0 running, 1 done, {len(HOSTILE)} failed" \
        in status.stdout, status.stdout
    log = (project / "worker-0.err").read_text()
    assert "its arguments are a JSON array, not an object" in log
    assert "its arguments do not fit" in log


def test_a_task_name_written_to_the_queue_cannot_forge_status_lines(
        workers: Workers, engine: Engine) -> None:  # noqa: F811
    """`digest status` printed a task name as the queue held it: escape codes reached
    the operator's terminal and a line break forged a line of its own."""
    assert workers.run("status").returncode == 0  # makes the database
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) VALUES "
            "('default', :name, '{}', 'failed')"),
            {"name": "evil\x1b[2J\nitems stored: 0 forged"})
    status = workers.run("status")
    assert status.returncode == 0, status.stderr
    assert "\x1b" not in status.stdout
    assert not any(line.startswith("items stored: 0 forged")
                   for line in status.stdout.splitlines()), status.stdout
    assert "  evil[2J items stored: 0 forged: 0 queued, 0 running, 0 done, 1 failed" \
        in status.stdout, status.stdout
