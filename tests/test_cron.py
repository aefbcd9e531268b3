"""Cron weekdays mean what cron means; the last slot is found across months and DST."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from digest.cron import last_slot, make_trigger, next_slot

BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize(("field", "expected"), [
    ("mon", "mon"), ("1", "mon"), ("0", "sun"), ("7", "sun"), ("1-5", "mon,tue,wed,thu,fri"),
    ("sat,sun", "sun,sat"), ("*/2", "sun,tue,thu,sat"), ("5-7", "sun,fri,sat"),
])
def test_cron_weekdays_are_translated_for_apscheduler(field: str, expected: str) -> None:
    trigger = make_trigger(f"0 8 * * {field}", BRUSSELS)
    assert f"day_of_week='{expected}'" in str(trigger)


def test_sunday_zero_fires_on_a_sunday() -> None:
    trigger = make_trigger("0 8 * * 0", BRUSSELS)
    fire = next_slot(trigger, datetime(2019, 3, 18, 9, tzinfo=BRUSSELS))
    assert fire is not None and fire.strftime("%A %H:%M") == "Sunday 08:00"


@pytest.mark.parametrize("bad", ["0 8 * *", "0 25 * * mon", "0 8 * * 9", "0 8 * * someday"])
def test_invalid_expressions_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        make_trigger(bad, BRUSSELS)


def test_last_slot_is_the_latest_fire_at_or_before_now() -> None:
    weekly = make_trigger("0 8 * * mon", BRUSSELS)
    monday = datetime(2019, 3, 18, 8, tzinfo=BRUSSELS)
    assert last_slot(weekly, monday) == monday
    assert last_slot(weekly, datetime(2019, 3, 18, 7, 59, tzinfo=BRUSSELS)) == datetime(
        2019, 3, 11, 8, tzinfo=BRUSSELS)
    monthly = make_trigger("30 6 1 * *", BRUSSELS)
    assert last_slot(monthly, monday) == datetime(2019, 3, 1, 6, 30, tzinfo=BRUSSELS)


def test_slots_keep_local_time_across_the_dst_change() -> None:
    daily = make_trigger("0 8 * * *", BRUSSELS)
    after_change = datetime(2019, 3, 31, 12, tzinfo=BRUSSELS)  # clocks went forward at 02:00
    slot = last_slot(daily, after_change)
    offset = slot.utcoffset() if slot is not None else None
    assert slot is not None and slot.hour == 8
    assert offset is not None and offset.total_seconds() == 7200
