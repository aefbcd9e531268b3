"""``run --once --wait`` reads back the reports workers keep in ``job_reports``: a row
that is not what a worker writes (edited by hand, another version's) is named as that
job's problem, and the other jobs' reports still make the summary (it used to end the
command with a traceback, the jobs done but no summary printed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text

from digest.config import Environment, load_settings
from digest.jobs.context import Context
from digest.models import RunReport
from digest.store.schema import job_reports
from digest.store.sent_tally import SentTally
from digest.testing import ManualClock
from digest.workers import waiting
from digest.workers.reports import read_stored, report_json
from tests.conftest import SAMPLE_NOW, reset_postgres

ODD: list[Any] = [
    [1, 2], "text", None, 7,
    {"sources": [{"bogus": 1}]},
    {"sources": [{"source_id": "x", "new": "many"}]},
    {"sent": "three"},
    {"notes": [1, 2]},
    {"outcome": {"sent": 1}},  # no label
    {"outcome": {"label": "weekly #1", "sent": 1.5}},
    {"outcome": {"label": "weekly #1", "failures": "not a list"}},
]


@pytest.mark.parametrize("data", ODD)
def test_a_report_not_as_a_worker_writes_it_is_refused(data: Any) -> None:
    with pytest.raises(ValueError):
        read_stored(data)


def test_a_report_as_a_worker_writes_it_is_read_back() -> None:
    report = RunReport(notes=["kept"], sent=2)
    assert read_stored(report_json(report)) == (report, None)


@pytest.fixture
def ctx(project: Path, postgres_url: str) -> Iterator[Context]:
    reset_postgres(postgres_url)
    config = project / "schedules.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "workers: {enabled: true}\n",
                      encoding="utf-8")
    context = Context(settings=load_settings(config), env=Environment.read({
        "DIGEST_DATABASE_URL": postgres_url,
        "DIGEST_SECRET_KEY": "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"}),
        clock=ManualClock(datetime.fromisoformat(SAMPLE_NOW)))
    yield context
    context.close()
    reset_postgres(postgres_url)


def test_odd_stored_reports_are_named_and_the_others_summed(ctx: Context) -> None:
    now = ctx.clock.now()
    stored = [*ODD[:5], report_json(RunReport(notes=["the good one"]))]
    with ctx.db.transaction() as connection:
        for data in stored:
            job = int(connection.execute(text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) VALUES "
                "('default', 'digest.housekeeping', '{\"run\": \"r1\"}', 'succeeded') "
                "RETURNING id")).scalar_one())
            connection.execute(insert(job_reports).values(
                job_id=job, run="r1", task="digest.housekeeping", finished_at=now,
                report=data))
    report = RunReport()
    waiting._merge_run(ctx, "r1", SentTally({}, 0), report, "unused")
    assert report.notes == ["the good one"]
    assert len(report.failures) == 5
    assert all("(digest.housekeeping): its report in job_reports cannot be read" in line
               for line in report.failures), report.failures


def test_a_task_name_from_the_queue_is_shown_on_one_line(ctx: Context) -> None:
    with ctx.db.transaction() as connection:
        connection.execute(text(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) VALUES "
            "('default', :name, '{\"run\": \"r2\"}', 'failed')"),
            {"name": "evil\x1b[2J\nforged"})
    report = RunReport()
    waiting._merge_run(ctx, "r2", SentTally({}, 0), report, "unused")
    assert len(report.failures) == 1
    assert "(evil[2J forged) failed after its retries" in report.failures[0], report.failures
