"""The scheduler's log: one row per job run, so `digest status` can say what ran and how."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, select

from digest.store.schema import job_runs


class RunOutcome(StrEnum):
    """How a job's run went; stored as its value."""

    RUNNING = "running"  # started, not finished (or the process died in it)
    OK = "ok"
    FAILED = "failed"  # raised, or reported a failure (the detail says which)
    MISSED = "missed"  # a digest slot passed while the service was down, beyond its grace


# The outcomes by their short names (``runs.OK``), as ``editions.SENT`` for statuses.
RUNNING, OK, FAILED, MISSED = (RunOutcome.RUNNING, RunOutcome.OK, RunOutcome.FAILED,
                               RunOutcome.MISSED)


@dataclass(frozen=True)
class JobRun:
    """One logged run of a scheduled job, as ``digest status`` shows it."""

    job_id: str
    started_at: datetime
    finished_at: datetime | None
    outcome: RunOutcome
    detail: str | None


def start(connection: Connection, job_id: str, now: datetime) -> int:
    """Log a job's run as ``running``; its id, to finish it with."""
    result = connection.execute(job_runs.insert().values(
        job_id=job_id, started_at=now, outcome=RUNNING).returning(job_runs.c.id))
    return int(result.scalar_one())


def finish(connection: Connection, run_id: int, now: datetime, outcome: RunOutcome,
           detail: str | None = None) -> None:
    """Record how a started run ended."""
    connection.execute(job_runs.update().where(job_runs.c.id == run_id).values(
        finished_at=now, outcome=outcome, detail=detail))


def record(connection: Connection, job_id: str, now: datetime, outcome: RunOutcome,
           detail: str | None = None) -> None:
    """A run that happened at once (or did not happen at all: ``missed``)."""
    connection.execute(job_runs.insert().values(
        job_id=job_id, started_at=now, finished_at=now, outcome=outcome, detail=detail))


def last_runs(connection: Connection, per_job: int = 1) -> dict[str, list[JobRun]]:
    """The latest runs of every job, newest first."""
    rows = connection.execute(select(job_runs).order_by(job_runs.c.started_at.desc(),
                                                        job_runs.c.id.desc())).mappings()
    found: dict[str, list[JobRun]] = {}
    for row in rows:
        runs = found.setdefault(row["job_id"], [])
        if len(runs) < per_job:
            runs.append(JobRun(job_id=row["job_id"], started_at=row["started_at"],
                               finished_at=row["finished_at"],
                               outcome=RunOutcome(row["outcome"]),
                               detail=row["detail"]))
    return found
