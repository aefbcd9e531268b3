"""The service's schedule, driven by a hand-moved clock: nothing here sleeps.

A DST change in Europe/Brussels, a slot missed inside and outside the grace, two schedulers
racing for one slot, a restart in the middle of a send, drafts superseded, one scheduler
per database.
"""

from __future__ import annotations

import email
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.config import Environment, Settings, load_settings
from digest.errors import StoreError
from digest.jobs.context import Context
from digest.jobs.review import approve_bulletin
from digest.scheduler import JobId, JobKind, ServiceJobs, job_specs
from digest.store import Database, editions, runs
from digest.store.locks import SchedulerLock
from digest.testing import ManualClock
from tests.conftest import reset_postgres

BRUSSELS = ZoneInfo("Europe/Brussels")


def _settings(project: Path, **replacements: str) -> Settings:
    config = project / "schedules.yaml"
    text = config.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text)
    return load_settings(config)


def _jobs(settings: Settings, clock: ManualClock, database: str | None = None) -> ServiceJobs:
    env = Environment.read({"DIGEST_DATABASE_URL": database} if database else {})
    return ServiceJobs(Context(settings=settings, env=env, clock=clock))


def _editions(jobs: ServiceJobs) -> list[editions.EditionRow]:
    with jobs.ctx.db.transaction() as connection:
        return sorted(editions.recent(connection, 100), key=lambda row: row.slot)


def _outbox(project: Path) -> list[email.message.Message]:
    return [email.message_from_bytes(p.read_bytes())
            for p in sorted((project / "out" / "outbox").glob("*.eml"))]


DAILY = {'cron: "0 8 * * mon"': 'cron: "0 8 * * *"'}


def test_daily_slots_keep_eight_oclock_across_the_dst_change(project: Path) -> None:
    settings = _settings(project, **DAILY)
    clock = ManualClock(datetime(2019, 3, 30, 8, 0, tzinfo=BRUSSELS))
    jobs = _jobs(settings, clock)
    jobs.collect("social-innovation")
    jobs.digest("weekly")
    # The trigger APScheduler gets fires next at 08:00 summer time, 23 hours later.
    spec = next(s for s in job_specs(settings, jobs) if s.id == "digest:weekly")
    fire = spec.trigger.get_next_fire_time(None, clock.now() + timedelta(seconds=1))
    assert fire == datetime(2019, 3, 31, 8, 0, tzinfo=BRUSSELS)
    assert fire.astimezone(UTC) - clock.now().astimezone(UTC) == timedelta(hours=23)
    clock.set(fire)
    jobs.collect("cooperation-culture")  # something new for the second edition
    jobs.digest("weekly")
    made = _editions(jobs)
    assert [row.slot.astimezone(BRUSSELS).strftime("%m-%d %H:%M %Z") for row in made] == [
        "03-30 08:00 CET", "03-31 08:00 CEST"]
    assert [row.status for row in made] == ["sent", "sent"]


def test_a_missed_slot_is_made_once_within_the_grace(project: Path) -> None:
    settings = _settings(project)
    clock = ManualClock(datetime(2019, 3, 18, 10, 0, tzinfo=BRUSSELS))  # 2 h after 08:00
    jobs = _jobs(settings, clock)
    jobs.collect("social-innovation")
    [caught] = jobs.catch_up()
    assert caught.startswith("digest:weekly made late for 2019-03-18T08:00:00+01:00: "
                             "weekly/1: 6 items")
    assert jobs.catch_up() == [], "never twice"
    clock.advance(timedelta(hours=1))
    restarted = _jobs(settings, clock)
    assert restarted.catch_up() == []
    made = _editions(jobs)
    assert len(made) == 1 and made[0].slot == datetime(2019, 3, 18, 8, tzinfo=BRUSSELS)
    assert made[0].status == "sent"


def test_a_slot_missed_beyond_the_grace_is_recorded_not_sent_late(project: Path) -> None:
    settings = _settings(project, **{"approval: false": "approval: false\n    grace: 6h"})
    clock = ManualClock(datetime(2019, 3, 18, 15, 0, tzinfo=BRUSSELS))  # 7 h late
    jobs = _jobs(settings, clock)
    jobs.collect("social-innovation")
    assert jobs.catch_up() == ["digest:weekly missed 2019-03-18T08:00:00+01:00"]
    assert _editions(jobs) == []
    with jobs.ctx.db.transaction() as connection:
        last = runs.last_runs(connection)["digest:weekly"][0]
    assert last.outcome == "missed" and "beyond the grace of 6:00:00" in (last.detail or "")
    # The items are not lost: the next Monday's edition carries them.
    clock.set(datetime(2019, 3, 25, 8, 0, tzinfo=BRUSSELS))
    jobs.digest("weekly")
    made = _editions(jobs)
    assert len(made) == 1 and "Lyon" not in str(made[0].item_keys)  # Lyon is 5 weeks old
    assert any("turin" in key for key in made[0].item_keys)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, project: Path) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
    else:
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
        yield url


def test_two_schedulers_racing_for_one_slot_make_one_edition(project: Path,
                                                              database: str | None) -> None:
    settings = _settings(project)
    clock = ManualClock(datetime(2019, 3, 18, 8, 0, tzinfo=BRUSSELS))
    first, second = _jobs(settings, clock, database), _jobs(settings, clock, database)
    first.collect("social-innovation")
    start = threading.Barrier(2)

    def race(jobs: ServiceJobs) -> None:
        start.wait()
        jobs.digest("weekly")

    threads = [threading.Thread(target=race, args=(jobs,)) for jobs in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = _editions(first)
    assert len(made) == 1
    recipients = [m["To"] for m in _outbox(project) if "weekly" in str(m["Subject"])]
    assert len(recipients) == len(set(recipients)) == 5


def test_a_restart_in_the_middle_of_a_send_resumes_it(project: Path) -> None:
    settings = _settings(project)
    clock = ManualClock(datetime(2019, 3, 18, 8, 0, tzinfo=BRUSSELS))
    jobs = _jobs(settings, clock)
    jobs.collect("social-innovation")
    (project / "out").mkdir()
    (project / "out" / "outbox").write_text("not a folder: every message is deferred")
    report = jobs.digest("weekly")
    assert report.sent == 0 and report.failed
    (project / "out" / "outbox").unlink()
    clock.advance(timedelta(minutes=15))
    restarted = _jobs(settings, clock)
    assert restarted.catch_up() == []  # the slot has its edition: nothing new is made
    restarted.housekeeping()  # ...and its pending messages go out (and the due bulletin)
    assert {row.digest_id: row.status for row in _editions(restarted)}["weekly"] == "sent"
    weekly = [m["To"] for m in _outbox(project) if "weekly" in str(m["Subject"])]
    assert len(weekly) == len(set(weekly)) == 5


def test_an_unapproved_draft_is_superseded_by_the_next_slot(project: Path) -> None:
    settings = _settings(project, **{"approval: false": (
        "approval: true\n    coordinators: [coordinator@example.org]")})
    clock = ManualClock(datetime(2019, 3, 18, 8, 0, tzinfo=BRUSSELS))
    jobs = _jobs(settings, clock)
    jobs.collect("social-innovation")
    jobs.digest("weekly")
    previews = _outbox(project)
    assert [m["To"] for m in previews] == ["Test recipient <coordinator@example.org>"]
    text_part = previews[0].get_payload(0)
    assert isinstance(text_part, email.message.Message)
    body = text_part.get_payload(decode=True)
    # Its web links go to the console: the draft has no public web version.
    assert isinstance(body, bytes) and "/admin/editions/weekly/1" in body.decode()
    assert "/editions/weekly/1/" not in body.decode()
    clock.set(datetime(2019, 3, 25, 8, 0, tzinfo=BRUSSELS))
    jobs.digest("weekly")
    first, second = _editions(jobs)
    assert (first.status, second.status) == ("superseded", "draft")
    # The draft's items roll forward, but for those now older than max_age (30 days).
    still_fresh = {k for k in first.item_keys if "turin" in k or "register-now" in k}
    assert still_fresh and still_fresh <= set(second.item_keys)
    assert not any("lyon" in k for k in second.item_keys)


def test_one_scheduler_per_database(project: Path, database: str | None) -> None:
    settings = _settings(project)
    url = database or f"sqlite:///{project / 'var' / 'digest.db'}"
    first = SchedulerLock(Database(url), project / "var")
    second = SchedulerLock(Database(url), project / "var")
    first.acquire()
    with pytest.raises(StoreError, match="already running"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()
    assert settings.var_dir == project / "var"


def test_jobs_follow_the_config(project: Path) -> None:
    settings = _settings(project, **{'cron: "0 8 * * mon"': 'cron: "30 7 * * 1-5"'})
    jobs = _jobs(settings, ManualClock(datetime(2019, 3, 16, 12, tzinfo=BRUSSELS)))
    specs = {spec.id: spec for spec in job_specs(settings, jobs)}
    assert set(specs) == {"collect:social-innovation", "collect:innovation",
                          "collect:cooperation-culture", "collect:events", "collect:notes",
                          "housekeeping", "digest:weekly"}
    saturday = datetime(2019, 3, 16, 12, tzinfo=BRUSSELS)
    fire = specs["digest:weekly"].trigger.get_next_fire_time(None, saturday)
    assert fire == datetime(2019, 3, 18, 7, 30, tzinfo=BRUSSELS)  # cron's 1 is Monday


def test_a_bulletin_with_send_at_waits_for_its_time(project: Path) -> None:
    bulletin = project / "sample" / "bulletins" / "2019-03-wg-smart-social-inclusion.md"
    bulletin.write_text(bulletin.read_text().replace(
        "language: en\n", "language: en\nsend_at: 2019-03-25T07:30:00+01:00\n"))
    settings = _settings(project)
    clock = ManualClock(datetime(2019, 3, 18, 8, 0, tzinfo=BRUSSELS))
    jobs = _jobs(settings, clock)
    approve_bulletin(jobs.ctx, "2019-03-wg-smart-social-inclusion", "cli",
                     reason="the placeholder links are known")  # only its send_at holds it
    jobs.housekeeping()
    assert not (project / "out" / "outbox").exists(), "not before its time"
    folder = project / "out" / "bulletins" / "2019-03-wg-smart-social-inclusion"
    assert not folder.exists(), "nor published before it"
    clock.set(datetime(2019, 3, 25, 7, 30, tzinfo=BRUSSELS))
    jobs.housekeeping()
    assert len(_outbox(project)) == 6
    assert (folder / "index.html").is_file()
    clock.advance(timedelta(minutes=15))
    jobs.housekeeping()
    assert len(_outbox(project)) == 6, "once"


def test_job_ids_are_built_and_parsed_in_one_place() -> None:
    ids = [JobId.collect("events"), JobId.housekeeping(), JobId.digest("weekly")]
    assert [str(job) for job in ids] == ["collect:events", "housekeeping", "digest:weekly"]
    assert [JobId.parse(str(job)) for job in ids] == ids
    assert JobId.parse("digest:weekly").kind is JobKind.DIGEST
    with pytest.raises(ValueError):
        JobId.parse("reindex:all")
