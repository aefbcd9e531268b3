"""How the commands and the service print a moment for the operator: one format, in the
site's zone when given, whatever the site's language."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from digest.dates import console_day, console_stamp

MOMENT = datetime(2019, 3, 24, 23, 30, tzinfo=UTC)
BRUSSELS = ZoneInfo("Europe/Brussels")


def test_a_moment_is_printed_in_the_zone_asked_for() -> None:
    assert console_stamp(MOMENT) == "2019-03-24 23:30"
    assert console_stamp(MOMENT, BRUSSELS) == "2019-03-25 00:30"
    assert console_stamp(MOMENT, BRUSSELS, weekday=True) == "Mon 2019-03-25 00:30"


def test_a_day_is_printed_in_the_zone_asked_for() -> None:
    assert console_day(MOMENT) == "2019-03-24"
    assert console_day(MOMENT, BRUSSELS) == "2019-03-25"
