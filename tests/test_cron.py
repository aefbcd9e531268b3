"""Cron weekdays mean what cron means; the last slot is found across months and DST; the
config's check of an expression says what APScheduler says, without it for a plain one."""

from __future__ import annotations

import itertools
import random
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest

from digest import cron
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


# Elements of a field near every edge of the check: bounds of each field, zero and big steps,
# backwards and empty ranges, leading zeros, names, APScheduler's own forms, junk.
_NUMBERS = ["0", "1", "5", "7", "12", "13", "23", "24", "30", "31", "32", "59", "60", "00",
            "007", "0059", "00000", "99999", "-1", ""]
_OTHERS = ["*", "*/0", "*/1", "*/2", "*/11", "*/12", "*/22", "*/23", "*/30", "*/58", "*/59",
           "*/60", "*-5", "**", "mon", "sun", "jan", "dec", "mon-fri", "jan-mar", "last",
           "1st mon", "last fri", "L", "?", "5/2", "0/59", "59/1", "x", "1,", ",1", "1,,2",
           "½", "+5", "5_0", "1-2-3", "1--2", "*/", "/5", "5-", "-"]


def _element(chance: random.Random) -> str:
    if chance.random() < 0.35:
        return chance.choice(_OTHERS)
    first = chance.choice(_NUMBERS)
    form = chance.random()
    if form < 0.4:
        return first
    last = chance.choice(_NUMBERS)
    if form < 0.7:
        return f"{first}-{last}"
    step = chance.choice(["0", "1", "2", "3", "5", "10", "29", "30", "58", "59", "60", ""])
    return f"{first}-{last}/{step}" if form < 0.9 else f"{first}/{step}"


def _expressions(count: int, seed: int) -> list[str]:
    """Expressions mostly of common fields (by position), some fields of random elements."""
    chance = random.Random(seed)
    common = [["0", "30", "*/15", "0-59/5"], ["8", "*", "6-18", "0,12"], ["*", "1", "1-15"],
              ["*", "1-12/3", "6"], ["mon", "1-5", "*", "0", "7", "sat,sun"], ["*"]]
    found = []
    for _ in range(count):
        fields = [",".join(_element(chance) if chance.random() < 0.1
                           else chance.choice(common[min(position, 5)])
                           for _ in range(chance.choice((1, 1, 1, 2, 3))))
                  for position in range(chance.choice((5, 5, 5, 5, 5, 4, 6)))]
        found.append(chance.choice([" ", " ", "  ", "\t"]).join(fields))
    return found


def _outcome(check: Callable[[str, ZoneInfo], object], expression: str) -> str:
    """``ok``, or the class and words of the error ``check(expression)`` raised (any
    error: a difference in kind counts too)."""
    try:
        check(expression, BRUSSELS)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


@pytest.mark.parametrize("seed", range(3))
def test_the_check_agrees_with_apscheduler(seed: int) -> None:
    """Every expression the plain check passes, APScheduler accepts; and ``check`` fails
    exactly when ``make_trigger`` does, with the same words."""
    expressions = ["0 8 * * mon", "0 0 31 2 *", "59 23 31 12 7", "0 0 1 1 0", "* * * * *",
                   "0-59/59 0-23/23 1-31/30 1-12/11 0-7/7", "0 0-0/1 * * *", "0 8 * * 1-5/0",
                   *_expressions(4000, seed)]
    plain = 0
    for expression in expressions:
        expected = _outcome(make_trigger, expression)
        try:
            fields = cron._fields(expression)
        except ValueError:
            fields = []
        if fields and cron._is_plain(fields):
            plain += 1
            assert expected in ("ok", f"ValueError: {cron.NEVER_FIRES}"), \
                f"{expression!r}: passed as plain, APScheduler: {expected}"
        assert _outcome(cron.check, expression) == expected, expression
    assert plain > len(expressions) // 10, plain  # the shortcut is taken, so compared too


def test_every_time_zone_takes_a_plain_expression() -> None:
    """The plain check does not look at the zone: APScheduler takes every zone the config
    can name (``site.timezone`` is any zone ``ZoneInfo`` loads)."""
    for name in sorted(available_timezones()):
        make_trigger("0 8 * * mon", ZoneInfo(name))


# Zones whose clocks change by an hour, by half an hour (Lord Howe), at 02:45 (Chatham), or
# never, with offsets in minutes (Kathmandu): a slot is a wall-clock time, once.
_CHANGING = ("Europe/Brussels", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham",
             "America/Santiago", "Asia/Kathmandu")


def _transitions(zone: ZoneInfo, year: int) -> list[datetime]:
    """The instants (UTC, to the hour) around which the zone's offset changes in ``year``."""
    found, hour = [], datetime(year, 1, 1, tzinfo=UTC)
    while hour.year == year:
        following = hour + timedelta(hours=1)
        if hour.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            found.append(hour)
        hour = following
    return found


@contextmanager
def _within(seconds: int) -> Iterator[None]:
    """Fail (rather than hang the suite) when the body runs longer than ``seconds``."""
    def stop(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", _CHANGING)
@pytest.mark.parametrize("expression", ["*/15 * * * *", "0 * * * *", "30 2 * * *",
                                        "15 1 * * *", "45 2 * * *"])
def test_slots_move_forward_once_per_wall_time_around_clock_changes(name: str,
                                                                    expression: str) -> None:
    """Around each change of the zone's clocks, the slots strictly increase in real time,
    no wall-clock time is a slot twice (the repeated hour fires once), and ``last_slot``
    finds each of them (it looped forever on the night clocks go back)."""
    zone = ZoneInfo(name)
    trigger = make_trigger(expression, zone)
    for change in _transitions(zone, 2026):
        fires: list[datetime] = []
        fire = next_slot(trigger, change - timedelta(days=1))
        while fire is not None and fire < change + timedelta(days=1) and len(fires) < 200:
            fires.append(fire)
            fire = next_slot(trigger, fire)
        instants = [f.astimezone(UTC) for f in fires]
        assert instants == sorted(set(instants)), (name, expression, fires)
        walls = [f.astimezone(zone).replace(tzinfo=None) for f in fires]
        assert len(walls) == len(set(walls)), (name, expression, fires)
        with _within(20):
            for earlier, later in itertools.pairwise(fires):
                assert last_slot(trigger, later) == later
                assert last_slot(trigger, later.astimezone(UTC) - timedelta(seconds=1)) \
                    == earlier


def test_the_repeated_hour_fires_once_and_the_skipped_one_once_later() -> None:
    """Europe/Brussels: 02:30 happens twice on 25 October 2026 (one slot, the first, in
    summer time) and not at all on 29 March (one slot, at 03:30 summer time)."""
    trigger = make_trigger("30 2 * * *", BRUSSELS)
    autumn = next_slot(trigger, datetime(2026, 10, 24, 12, tzinfo=BRUSSELS))
    assert autumn is not None and autumn.astimezone(UTC) == datetime(2026, 10, 25, 0, 30,
                                                                     tzinfo=UTC)
    following = next_slot(trigger, autumn)
    assert following is not None and following.astimezone(UTC) == datetime(
        2026, 10, 26, 1, 30, tzinfo=UTC)
    # APScheduler's own loop asks with the previous fire time: the same answer.
    assert trigger.get_next_fire_time(autumn, autumn + timedelta(hours=2)) == following
    spring = next_slot(trigger, datetime(2026, 3, 28, 12, tzinfo=BRUSSELS))
    assert spring is not None and spring.astimezone(UTC) == datetime(2026, 3, 29, 1, 30,
                                                                     tzinfo=UTC)


@pytest.mark.parametrize("expression", ["0 8 30 2 *", "0 8 31 4,6,9,11 *", "0 8 30-31 feb *",
                                        "0 8 31 2-2 mon", "0 8 31 4-9/5 *",
                                        "0 8 31 4,6,9,11 mon-fri"])
def test_an_expression_that_never_fires_is_refused(expression: str) -> None:
    """February 30 and the 31st of a 30-day month are dates no year has: the digest would
    never send. Refused by the plain check and by APScheduler's path alike."""
    with pytest.raises(ValueError, match="never fires"):
        cron.check(expression, BRUSSELS)
    with pytest.raises(ValueError, match="never fires"):
        make_trigger(expression, BRUSSELS)


@pytest.mark.parametrize("expression", ["0 8 29 2 *", "0 8 29 2 mon", "0 8 31 1-2 *",
                                        "0 8 30,31 2,4 *", "* * * * *", "59 23 31 12 *"])
def test_rare_but_real_dates_are_taken(expression: str) -> None:
    """Leap days (and a leap day that is a Monday, in 2016 and 2044) do come."""
    cron.check(expression, BRUSSELS)
    trigger = make_trigger(expression, BRUSSELS)
    assert next_slot(trigger, datetime(2025, 3, 1, tzinfo=UTC)) is not None
