"""Workers on procrastinate (issue 13, section 2), with real `digest worker` processes on
PostgreSQL: `run --once --wait` through two workers gives the summary, exit code and
outbox of the run in one process; SIGTERM lets the job in hand finish and exits 0; a
failing job is retried with back-off and `digest status` shows it; one edition per
(digest, slot) however many jobs ask; a dead worker's job is taken up again. And workers
over SQLite are refused by every command in one line.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from digest.errors import InputError, StoreError
from tests.conftest import SAMPLE_NOW, approve_sample_bulletin, reset_postgres, run_digest

SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
READY = re.compile(r"^digest: worker ready \(worker \d+, ")


def _enable_workers(project: Path, extra: str = "") -> None:
    with (project / "schedules.yaml").open("a") as config:
        config.write(f"\nworkers: {{enabled: true, send_jobs: 2, batch: 2{extra}}}\n")


def _slow_delivery(project: Path, rate: str) -> None:
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace("  rate: 20/s", f"  rate: {rate}"))


@pytest.mark.parametrize("command", [("status",), ("collect",), ("run", "--once", "--wait"),
                                     ("serve", "--local"), ("worker",), ("db", "upgrade")])
def test_workers_over_sqlite_are_refused_by_every_command_in_one_line(
        project: Path, command: tuple[str, ...]) -> None:
    _enable_workers(project)
    result = run_digest(project, *command)
    assert result.returncode == 2, result.stdout + result.stderr
    database = f"sqlite:///{project / 'var' / 'digest.db'}"
    assert result.stderr.splitlines() == [
        f"digest: {project / 'schedules.yaml'}: workers.enabled is true but the database is "
        f"{database}: workers need PostgreSQL (DIGEST_DATABASE_URL=postgresql://... or "
        "site.database); set workers.enabled: false to run everything in one process"]
    assert not (project / "var" / "digest.db").exists()  # refused before opening it


def test_a_worker_without_workers_enabled_is_refused(project: Path) -> None:
    result = run_digest(project, "worker")
    assert result.returncode == 2
    assert "workers.enabled is false" in result.stderr


class Workers:
    """Real `digest worker` processes of one project; each started one waits for its ready
    line; all are stopped (SIGKILL if need be) at the end."""

    def __init__(self, project: Path, env: dict[str, str]) -> None:
        self.project = project
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        self.env.update(env)
        self.started: list[subprocess.Popen[str]] = []

    def start(self, concurrency: int = 1) -> subprocess.Popen[str]:
        log = (self.project / f"worker-{len(self.started)}.err").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "digest", "--now", SAMPLE_NOW, "worker", "--concurrency",
             str(concurrency)], cwd=self.project, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=log)
        self.started.append(process)
        output = process.stdout
        assert output is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(output.readline()))
        reader.start()
        reader.join(timeout=120)
        assert line and READY.match(line[0]), (
            line, (self.project / f"worker-{len(self.started) - 1}.err").read_text())
        return process

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_digest(self.project, *args, env=self.env)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


@pytest.fixture
def workers(project: Path, postgres_url: str) -> Iterator[Workers]:
    reset_postgres(postgres_url)
    _enable_workers(project)
    found = Workers(project, {"DIGEST_DATABASE_URL": postgres_url, "DIGEST_SECRET_KEY": SECRET})
    try:
        yield found
    finally:
        found.stop_all()
        reset_postgres(postgres_url)


SOURCE_LINE = re.compile(r"^(source \S+): (\d+) new, (\d+) updated, (\d+) duplicate",
                         re.MULTILINE)


def _summary(text: str, project: Path) -> tuple[str, list[int]]:
    """A run's summary with its folder named P, and its polls' counts summed: polls run
    side by side on workers, so an article that two sources list is new in whichever
    stored it first, and a duplicate in the other (docs/deploy.md); the totals agree."""
    totals = [sum(int(m[i]) for m in SOURCE_LINE.findall(text)) for i in (1, 2, 3)]
    return SOURCE_LINE.sub(r"\1: counted", text.replace(str(project), "P")), totals


def _outbox(project: Path) -> dict[str, bytes]:
    folder = project / "out" / "outbox"
    return {path.name: path.read_bytes() for path in folder.iterdir()} if folder.exists() else {}


def _wait_until(check: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def test_run_once_wait_through_two_workers_is_the_run_in_one_process(
        workers: Workers, tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(workers.project / "schedules.yaml", alone / "schedules.yaml")
    shutil.copytree(workers.project / "sample", alone / "sample")
    config = alone / "schedules.yaml"
    config.write_text(config.read_text().replace("enabled: true", "enabled: false"))
    # The bulletin approved in both: its send goes through a send job too.
    approve_sample_bulletin(alone, env={"DIGEST_SECRET_KEY": SECRET})
    approve_sample_bulletin(workers.project, env=workers.env)
    one = run_digest(alone, "run", "--once", env={"DIGEST_SECRET_KEY": SECRET})
    workers.start(concurrency=2)
    workers.start()
    queued = workers.run("run", "--once", "--wait")
    assert queued.returncode == one.returncode == 0, queued.stderr
    assert _summary(queued.stdout, workers.project) == _summary(one.stdout, alone)
    assert "messages sent: 11" in queued.stdout  # five of the edition, six of the bulletin
    assert _outbox(workers.project) == _outbox(alone) != {}
    # A second run adds and sends nothing, as in one process.
    again, alone_again = workers.run("run", "--once", "--wait"), run_digest(
        alone, "run", "--once", env={"DIGEST_SECRET_KEY": SECRET})
    assert again.returncode == alone_again.returncode == 0
    assert _summary(again.stdout, workers.project) == _summary(alone_again.stdout, alone)
    assert "messages sent: 0" in again.stdout
    status = workers.run("status")
    assert "queue (procrastinate_jobs; 2 workers alive):" in status.stdout
    assert re.search(r"digest.send_outbox: 0 queued, 0 running, [1-9]\d* done, 0 failed",
                     status.stdout), status.stdout


def test_sigterm_lets_the_job_in_hand_finish_and_exits_0(workers: Workers) -> None:
    _slow_delivery(workers.project, "1/s")
    first = workers.start()
    waiting = subprocess.Popen([sys.executable, "-m", "digest", "--now", SAMPLE_NOW, "run",
                                "--once", "--wait"], cwd=workers.project, env=workers.env,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_until(lambda: len(_outbox(workers.project)) >= 1, "a first message")
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0
        assert len(_outbox(workers.project)) < 5  # it did not send the rest before leaving
        workers.start()  # another worker sends the rest, continued where it stopped
        out, err = waiting.communicate(timeout=120)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 0, out + err
    assert "messages sent: 5" in out and "problem" not in out
    assert len(_outbox(workers.project)) == 5
    status = workers.run("status").stdout
    assert "failed; " in status and not re.search(r"[1-9]\d* failed", status), status


def test_a_job_refused_for_its_arguments_fails_at_once_and_shows_in_status(
        workers: Workers) -> None:
    """An edition not in the store cannot appear by trying again: no back-off, failed."""
    from digest.config import load_settings
    from digest.workers.app import make_app
    from digest.workers.queue import JobQueue

    settings = load_settings(workers.project / "schedules.yaml")
    app = make_app(workers.env["DIGEST_DATABASE_URL"])
    assert workers.run("status").returncode == 0  # makes the database
    with app.open():
        JobQueue(app, settings).send(edition_id=999, part=0)  # no such edition: it fails
    workers.start()
    line = re.compile(r"digest.send_outbox: 0 queued, 0 running, 0 done, 1 failed; 0 retried")
    _wait_until(lambda: bool(line.search(workers.run("status").stdout)), "the job to fail",
                timeout=120)
    err = (workers.project / "worker-0.err").read_text()
    assert "edition 999 is not in the store" in err


@pytest.mark.parametrize(("error", "attempts", "wait"), [
    (StoreError("database error: the server closed the connection"), 0, 2),
    (StoreError("database error: the server closed the connection"), 3, 16),
    (StoreError("database error: the server closed the connection"), 4, None),
    (OSError("No space left on device"), 1, 4),
    (RuntimeError("a crash in a job"), 2, 8),
    (InputError("source 'gone' is not in the config"), 0, None),
    (InputError("edition 999 is not in the store"), 2, None),
])
def test_what_may_pass_next_time_is_retried_with_back_off_what_cannot_is_not(
        error: Exception, attempts: int, wait: int | None) -> None:
    """Every task's retry policy: 2, 4, 8, 16 s for a failure that may pass (the store,
    the disk, a crash), then failed; nothing for a job refused for what it asks."""
    from datetime import UTC, datetime, timedelta

    from procrastinate.jobs import Job

    from digest.workers.app import TASKS, make_app

    app = make_app("postgresql://nobody@127.0.0.1:1/none")  # never opened
    for name in TASKS:
        job = Job(id=1, queue="default", lock=None, queueing_lock=None, task_name=name,
                  attempts=attempts)
        strategy = app.tasks[name].retry_strategy
        assert strategy is not None, name
        before = datetime.now(UTC)
        decision = strategy.get_retry_decision(exception=error, job=job)
        after = datetime.now(UTC)
        if wait is None:
            assert decision is None, (name, error, attempts)
        else:
            assert decision is not None and decision.retry_at is not None, (name, error)
            back_off = timedelta(seconds=wait)
            assert before + back_off <= decision.retry_at <= after + back_off, (name, wait)


def test_one_edition_per_slot_however_many_jobs_ask(workers: Workers) -> None:
    from datetime import datetime

    from digest.config import load_settings
    from digest.workers.app import make_app
    from digest.workers.queue import JobQueue

    settings = load_settings(workers.project / "schedules.yaml")
    slot = datetime.fromisoformat(SAMPLE_NOW)
    assert workers.run("collect").returncode == 0
    app = make_app(workers.env["DIGEST_DATABASE_URL"])
    with app.open():
        queue = JobQueue(app, settings)
        assert queue.edition("weekly", slot) is not None
        assert queue.edition("weekly", slot) is None  # the service's: once while it waits
        assert queue.poll("events") is not None and queue.poll("events") is None
        for run in ("a", "b", "c"):  # runs always queue; the lock keeps them one at a time
            assert queue.edition("weekly", slot, run=run) is not None
    workers.start(concurrency=3)
    workers.start(concurrency=2)
    done = "digest.make_edition: 0 queued, 0 running, 4 done, 0 failed"
    _wait_until(lambda: done in workers.run("status").stdout,
                "the four edition jobs")
    _wait_until(lambda: len(_outbox(workers.project)) == 5, "the five messages")
    status = workers.run("status").stdout
    assert len(re.findall(r"^  weekly/\d+ ", status, re.MULTILINE)) == 1, status
    assert "weekly/1 [sent]" in status and "5 sent" in status


def test_the_job_of_a_killed_worker_is_taken_up_again(workers: Workers) -> None:
    _slow_delivery(workers.project, "1/s")
    doomed = workers.start()
    waiting = subprocess.Popen([sys.executable, "-m", "digest", "--now", SAMPLE_NOW, "run",
                                "--once", "--wait"], cwd=workers.project, env=workers.env,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_until(lambda: len(_outbox(workers.project)) >= 1, "a first message")
        doomed.kill()
        doomed.wait(timeout=30)
        workers.start()
        out, err = waiting.communicate(timeout=180)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 0, out + err
    # The killed attempt never reported what it sent: the count is the outbox's.
    assert "messages sent: 5" in out and "problem" not in out, out
    assert len(_outbox(workers.project)) == 5
    status = workers.run("status").stdout
    assert "weekly/1 [sent]" in status and "5 sent" in status, status
    assert re.search(r"digest.send_outbox: .*; [1-9]\d* retried", status), status
    # The killed one's heartbeat stopped: named until a worker starting later prunes it.
    assert re.search(r"stalled worker \d+: no heartbeat since .*, 0 jobs left running",
                     status), status


def test_serve_with_workers_queues_the_jobs_and_runs_none(workers: Workers) -> None:
    from tests.test_serve import _free_port, _wait_for_line

    port = _free_port()
    config = workers.project / "schedules.yaml"
    config.write_text(config.read_text().replace("port: 8040", f"port: {port}"))
    # 08:30 on the Monday: the 08:00 slot passed while "down", within the 6 h grace.
    service = subprocess.Popen([sys.executable, "-m", "digest", "--now",
                                "2019-03-18T08:30:00+01:00", "serve"], cwd=workers.project,
                               env=workers.env, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        lines = _wait_for_line(service, "serving")
        assert any("catch-up: digest:weekly" in line and "queued as job" in line
                   for line in lines), lines
        status = workers.run("status").stdout
        assert "items stored: 0" in status and "weekly/1" not in status  # nothing ran
        assert "digest.poll_source: 5 queued, 0 running, 0 done" in status, status
        assert "digest.make_edition: 1 queued, 0 running, 0 done" in status, status
        workers.start()
        _wait_until(lambda: "weekly/1 [sent]" in workers.run("status").stdout,
                    "the worker to make and send the slot's edition")
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=30) == 0
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    assert len(_outbox(workers.project)) == 5
    status = workers.run("status").stdout
    assert re.search(r"collect:events: next .*; last 2019-03-18 08:\d\d ok", status), status
    assert re.search(r"digest:weekly: next .*; last 2019-03-18 08:\d\d ok", status), status


def test_run_once_without_wait_queues_the_jobs_and_returns(workers: Workers) -> None:
    queued = workers.run("run", "--once")
    assert queued.returncode == 0, queued.stderr
    # five polls, the housekeeping, the weekly edition (no bounce mailbox in the sample)
    assert re.match(r"queued 7 jobs \(run [0-9a-f]{16}\) for `digest worker`", queued.stdout)
    status = workers.run("status").stdout
    assert "digest.poll_source: 5 queued, 0 running, 0 done" in status, status
    assert "digest.housekeeping: 1 queued" in status and "digest.make_edition: 1 queued" in status
    assert "queue (procrastinate_jobs; 0 workers alive):" in status


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_serve_and_workers_without_the_shared_key_are_refused(
        workers: Workers, command: str) -> None:
    """Without DIGEST_SECRET_KEY each machine signed links with a var/secret_key of its
    own: a member's link made by one machine was refused by another."""
    env = {k: v for k, v in workers.env.items() if k != "DIGEST_SECRET_KEY"}
    result = run_digest(workers.project, command, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"digest: {command}: DIGEST_SECRET_KEY is not set: with workers.enabled, `digest "
        "serve` and every `digest worker` need the same key in their environment (links "
        "and Message-IDs are signed with it; docs/deploy.md)"]
    assert not (workers.project / "var" / "secret_key").exists()
