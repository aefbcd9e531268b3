"""A queued job's arguments are checked before it does anything: a job outlives the config
that queued it (a source or digest removed meanwhile), and anyone who can write
``procrastinate_jobs`` can queue any arguments. Such a job is refused with an
``InputError`` naming the argument: nothing polled, made or sent, no ``job_runs`` line
under a forged name. (A poll with ``source_id: null`` used to poll every source.) And
`digest worker --concurrency` reads ASCII digits only, as the config does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from digest.config import Environment, load_settings
from digest.errors import InputError
from digest.jobs.context import Context
from digest.store.schema import items, job_runs
from digest.testing import ManualClock
from digest.workers import tasks
from digest.workers.app import CONTEXT_KEY, QUEUE_KEY
from tests.conftest import SAMPLE_NOW, run_digest


@pytest.fixture
def ctx(project: Path) -> Iterator[Context]:
    context = Context(settings=load_settings(project / "schedules.yaml"),
                      env=Environment.read({"DIGEST_SECRET_KEY": "s3cr3t-for-tests-0123456789"
                                                                 "abcdefghijklmnopqrstuvw"}),
                      clock=ManualClock(datetime.fromisoformat(SAMPLE_NOW)))
    yield context
    context.close()


def _job(ctx: Context, task: str, **args: Any) -> Any:
    """What procrastinate hands a task: the worker's context and queue, and the job."""
    return SimpleNamespace(
        additional_context={CONTEXT_KEY: ctx, QUEUE_KEY: None},
        job=SimpleNamespace(id=1, task_name=task, task_kwargs=args))


def _nothing_done(ctx: Context) -> None:
    with ctx.db.transaction() as connection:
        assert connection.execute(select(func.count()).select_from(job_runs)).scalar() == 0
        assert connection.execute(select(func.count()).select_from(items)).scalar() == 0


@pytest.mark.parametrize("source_id", ["gone", "../../../etc/passwd", None, 3, ""])
def test_a_poll_of_a_source_the_config_lacks_polls_nothing(ctx: Context,
                                                           source_id: Any) -> None:
    job = _job(ctx, "digest.poll_source", source_id=source_id)
    with pytest.raises(InputError, match=r"source .* is not in the config"):
        tasks.poll_source(job, source_id)
    _nothing_done(ctx)


@pytest.mark.parametrize(("digest_id", "slot", "refused"), [
    ("gone", "2019-03-18T07:00:00+00:00", r"digest 'gone' is not in the config"),
    (None, "2019-03-18T07:00:00+00:00", r"digest None is not in the config"),
    ("weekly", "not-a-date", r"slot 'not-a-date' is not an ISO 8601 time with its offset"),
    ("weekly", "2019-03-18T07:00:00", r"slot '2019-03-18T07:00:00' is not an ISO 8601"),
    ("weekly", 1552892400, r"slot 1552892400 is not an ISO 8601"),
])
def test_an_edition_job_for_a_digest_or_slot_it_cannot_name_makes_nothing(
        ctx: Context, digest_id: Any, slot: Any, refused: str) -> None:
    job = _job(ctx, "digest.make_edition", digest_id=digest_id, slot=slot)
    with pytest.raises(InputError, match=refused):
        tasks.make_edition(job, digest_id, slot)
    _nothing_done(ctx)


@pytest.mark.parametrize(("edition_id", "part"), [("1 OR 1=1", 0), (True, 0), (1.0, 0),
                                                  (1, "0"), (None, 0)])
def test_a_send_job_with_arguments_of_the_wrong_kind_sends_nothing(
        ctx: Context, edition_id: Any, part: Any) -> None:
    job = _job(ctx, "digest.send_outbox", edition_id=edition_id, part=part)
    with pytest.raises(InputError, match="expected whole numbers"):
        tasks.send_outbox(job, edition_id, part)
    _nothing_done(ctx)


@pytest.mark.parametrize("concurrency", ["٣", "３", "𝟐", "0", "65", "1e3", "-1", "2\u2003"])
def test_the_worker_s_concurrency_is_ascii_digits_from_1_to_64(project: Path,
                                                               concurrency: str) -> None:
    result = run_digest(project, "worker", "--concurrency", concurrency)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().endswith(
        f"argument --concurrency: expected a whole number from 1 to 64, got {concurrency!r}")
