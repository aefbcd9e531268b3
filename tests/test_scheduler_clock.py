"""Reality's clocks against the service: NTP stepping the clock back between two runs, a
clock running ahead, items at a period's boundary. A hand-moved clock; nothing sleeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.clock import parse_now
from digest.compose import is_new
from digest.config import Environment, load_settings
from digest.cron import last_slot, make_trigger, next_slot
from digest.dates import EARLIEST, LATEST
from digest.errors import InputError
from digest.jobs.context import Context
from digest.scheduler import MISFIRE, ServiceJobs, job_specs
from digest.store import editions, items
from digest.testing import ManualClock

BRUSSELS = ZoneInfo("Europe/Brussels")
MONDAY = datetime(2019, 3, 18, 8, 0, tzinfo=BRUSSELS)


def _jobs(project: Path, clock: ManualClock) -> ServiceJobs:
    settings = load_settings(project / "schedules.yaml")
    return ServiceJobs(Context(settings=settings, env=Environment.read({}), clock=clock))


def _editions(jobs: ServiceJobs) -> list[editions.EditionRow]:
    with jobs.ctx.db.transaction() as connection:
        return sorted(editions.recent(connection, 100), key=lambda row: row.slot)


def _taken(jobs: ServiceJobs, source_id: str, at: datetime) -> set[str]:
    """The keys of the source's stored items the weekly digest takes at ``at`` as new."""
    digest = jobs.ctx.settings.digest("weekly")
    assert digest is not None
    with jobs.ctx.db.transaction() as connection:
        stored = list(items.items_seen_since(connection, None, datetime(9999, 1, 1, tzinfo=UTC)))
    return {item.key for item in stored if item.source_id == source_id and is_new(
        replace(item, first_seen=at), digest, None, at, BRUSSELS)}


@pytest.mark.parametrize("back", [timedelta(microseconds=1), timedelta(minutes=10),
                                  timedelta(days=3)])
def test_items_collected_after_the_clock_stepped_back_reach_the_next_edition(
        project: Path, back: timedelta) -> None:
    """An edition's period ends at the clock's "now"; an item stored after the clock was
    stepped back (NTP, an operator, a machine whose clock ran ahead) was stamped behind
    that end and so never was in any edition. It goes in the next one, once."""
    clock = ManualClock(MONDAY)
    jobs = _jobs(project, clock)
    jobs.collect("social-innovation")
    jobs.digest("weekly")
    [first] = _editions(jobs)
    clock.set(first.period_end - back)  # the clock is stepped back
    jobs.collect("cooperation-culture")
    clock.set(MONDAY + timedelta(days=7))
    late = _taken(jobs, "cooperation-culture", clock.now())
    assert late, "the sample source brings items for the next edition"
    jobs.digest("weekly")
    made = _editions(jobs)
    assert [row.status for row in made] == ["sent", "sent"]
    second = set(made[1].item_keys)
    assert not set(first.item_keys) & second, "never twice"
    assert late <= second, "each item collected after the step is in the next edition"


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+00:00", "0219-03-18T08:00:00+01:00",
                                  "9999-12-31T23:59:00+00:00", "2200-01-01T00:00:00Z"])
def test_a_now_at_the_calendars_edge_is_refused_with_a_message(text: str) -> None:
    """A typo in ``--now`` (year 0219) used to reach the schedule and end in an
    OverflowError traceback (``run --once``, ``status``)."""
    with pytest.raises(InputError, match="expected a time in the years 1900-2199"):
        parse_now(text)
    assert parse_now("2199-12-30T23:59:59+00:00").now().year == 2199


def test_the_schedule_works_anywhere_in_the_accepted_range() -> None:
    """The edges of what ``--now`` accepts still have a last and a next slot, in the zone
    furthest ahead and the one furthest behind."""
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12", "Pacific/Chatham"):
        trigger = make_trigger("0 8 * * mon", ZoneInfo(zone))
        for edge in (EARLIEST, LATEST):
            assert next_slot(trigger, edge) is not None
            last_slot(trigger, edge)


def test_a_slot_its_timer_let_pass_is_made_by_the_next_housekeeping(project: Path) -> None:
    """APScheduler drops a fire when the digest's previous run is still sending
    (``max_instances``) or the machine slept past ``misfire_grace_time``: the slot used to
    be made by nobody (catch-up runs at start only). The housekeeping timer makes it,
    once, within the grace; a slot still young is left to its own timer."""
    clock = ManualClock(MONDAY + timedelta(minutes=2))
    jobs = _jobs(project, clock)
    jobs.collect("social-innovation")
    housekeeping = next(spec for spec in job_specs(jobs.ctx.settings, jobs)
                        if spec.id == "housekeeping")
    housekeeping.run()
    assert _editions(jobs) == [], "within the misfire time the digest's own timer runs it"
    clock.set(MONDAY + MISFIRE + timedelta(minutes=5))  # the fire was dropped
    housekeeping.run()
    made = _editions(jobs)
    assert [(row.slot, row.status) for row in made] == [(MONDAY, "sent")]
    housekeeping.run()
    assert len(_editions(jobs)) == 1, "once"
    clock.set(MONDAY + timedelta(days=7, hours=7))  # beyond the 6 h grace: left alone
    housekeeping.run()
    assert len(_editions(jobs)) == 1
