"""The job queue's tables, as the store sees them: procrastinate's schema made by revision
0003 (PostgreSQL only), the reports of the jobs a worker ran, and what ``digest status``
and ``digest run --once --wait`` read of ``procrastinate_jobs`` and ``procrastinate_workers``.

procrastinate owns its tables and writes them (``digest.workers``); the store only reads
them, in plain SQL, so no stage imports procrastinate. Its schema is the file of the
pinned release kept beside the migrations (``migrations/queue/``): a revision never
changes once written, whatever release is installed later (a new release's schema
changes come as a new revision applying procrastinate's own migration files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, text

from digest.store.schema import job_reports

QUEUE_SCHEMA = Path(__file__).parent / "migrations" / "queue" / "procrastinate-3.10.sql"
# The job states procrastinate keeps, in the order `digest status` shows them.
UNFINISHED = ("todo", "doing")


def create_queue_schema(connection: Connection) -> None:
    """Make procrastinate's types, tables, functions and triggers (PostgreSQL only: the
    queue is not used on SQLite). Run by revision 0003 and when a new database is made."""
    if connection.dialect.name != "postgresql":
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(QUEUE_SCHEMA.read_text(encoding="utf-8"))  # no parameters: % is literal


def drop_queue_schema(connection: Connection) -> None:
    """Remove every object of procrastinate's (its names all start ``procrastinate_``):
    undoing revision 0003, and the tests' fresh start."""
    if connection.dialect.name != "postgresql":
        return
    for kind, query in (
            ("TABLE", "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"),
            ("FUNCTION", "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace "
                         "n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()"),
            # after the tables: what is left are its enums and composite types
            ("TYPE", "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = "
                     "t.typnamespace WHERE n.nspname = current_schema() AND t.typtype IN "
                     "('e', 'c')")):
        names = [str(name) for name in connection.exec_driver_sql(query).scalars()
                 if str(name).startswith("procrastinate_")]
        for name in names:
            quoted = name if kind == "FUNCTION" else f'"{name}"'
            connection.exec_driver_sql(f"DROP {kind} IF EXISTS {quoted} CASCADE")


def has_queue(connection: Connection) -> bool:
    """Whether procrastinate's tables are there (PostgreSQL at revision 0003 or later)."""
    if connection.dialect.name != "postgresql":
        return False
    return bool(connection.execute(text(
        "SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar())


def record_report(connection: Connection, job_id: int, run: str | None, task: str,
                  now: datetime, report: dict[str, Any]) -> None:
    """Keep what one job reported (a retried job's last attempt replaces the earlier)."""
    connection.execute(job_reports.delete().where(job_reports.c.job_id == job_id))
    connection.execute(insert(job_reports).values(job_id=job_id, run=run, task=task,
                                                  finished_at=now, report=report))


def prune_reports(connection: Connection) -> int:
    """Forget the reports of jobs procrastinate no longer keeps; how many."""
    return connection.execute(text(
        "DELETE FROM job_reports WHERE NOT EXISTS (SELECT 1 FROM procrastinate_jobs j "
        "WHERE j.id = job_reports.job_id)")).rowcount


@dataclass(frozen=True)
class RunJob:
    """One job queued by a ``run --once``: its state, and its report once it finished."""

    id: int
    task: str
    status: str
    args: dict[str, Any]
    report: dict[str, Any] | None


def jobs_of_run(connection: Connection, run: str) -> list[RunJob]:
    """Every job tagged with ``run`` (its ``run`` argument), oldest first, each with the
    report its worker kept."""
    rows = connection.execute(text(
        "SELECT id, task_name, status::text AS status, args FROM procrastinate_jobs "
        "WHERE args->>'run' = :run ORDER BY id"), {"run": run}).mappings().all()
    reports = dict(connection.execute(
        select(job_reports.c.job_id, job_reports.c.report).where(job_reports.c.run == run)
    ).all())
    return [RunJob(id=int(row["id"]), task=str(row["task_name"]), status=str(row["status"]),
                   args=dict(row["args"]), report=reports.get(int(row["id"])))
            for row in rows]


def unfinished_of_run(connection: Connection, run: str) -> int:
    """How many of a run's jobs are still queued or running (retries waiting included)."""
    return int(connection.execute(text(
        "SELECT count(*) FROM procrastinate_jobs WHERE args->>'run' = :run "
        "AND status IN ('todo', 'doing')"), {"run": run}).scalar() or 0)


@dataclass
class TaskCounts:
    """One task's jobs by state, and how many were tried again (after a failure, or
    because the worker running them died)."""

    task: str
    states: dict[str, int] = field(default_factory=dict)
    retried: int = 0


@dataclass(frozen=True)
class StalledWorker:
    """A worker whose heartbeat stopped: killed, or its machine gone."""

    id: int
    last_heartbeat: datetime
    running: int  # jobs it still holds: retried by a live worker (``digest.workers``)


@dataclass(frozen=True)
class QueueState:
    """What ``digest status`` shows of the queue."""

    tasks: list[TaskCounts]
    workers: int  # workers with a recent heartbeat
    stalled: list[StalledWorker]
    orphaned: int  # jobs running without a live worker: to be retried


def queue_state(connection: Connection, stalled_after: float) -> QueueState:
    """Jobs per task and state, retries, live and stalled workers (``stalled_after``:
    seconds without a heartbeat)."""
    tasks: dict[str, TaskCounts] = {}
    for name, status, count in connection.execute(text(
            "SELECT task_name, status::text, count(*) FROM procrastinate_jobs "
            "GROUP BY task_name, status ORDER BY task_name")):
        tasks.setdefault(name, TaskCounts(name)).states[status] = int(count)
    for name, count in connection.execute(text(
            "SELECT j.task_name, count(DISTINCT j.id) FROM procrastinate_jobs j JOIN "
            "procrastinate_events e ON e.job_id = j.id WHERE e.type IN "
            "('deferred_for_retry', 'retried') GROUP BY j.task_name")):
        tasks.setdefault(name, TaskCounts(name)).retried = int(count)
    cutoff = "now() - make_interval(secs => :seconds)"
    live = int(connection.execute(text(
        f"SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat >= {cutoff}"),
        {"seconds": stalled_after}).scalar() or 0)
    stalled = [StalledWorker(int(wid), beat, int(running)) for wid, beat, running in
               connection.execute(text(
                   "SELECT w.id, w.last_heartbeat, count(j.id) FROM procrastinate_workers w "
                   "LEFT JOIN procrastinate_jobs j ON j.worker_id = w.id AND j.status = "
                   f"'doing' WHERE w.last_heartbeat < {cutoff} GROUP BY w.id, "
                   "w.last_heartbeat ORDER BY w.id"), {"seconds": stalled_after})]
    orphaned = int(connection.execute(text(
        "SELECT count(*) FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON "
        f"w.id = j.worker_id WHERE j.status = 'doing' AND (w.id IS NULL OR w.last_heartbeat "
        f"< {cutoff})"), {"seconds": stalled_after}).scalar() or 0)
    return QueueState(sorted(tasks.values(), key=lambda t: t.task), live, stalled, orphaned)
