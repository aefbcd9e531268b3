"""Cron expressions as an operator writes them, on top of APScheduler's trigger.

APScheduler 3 numbers weekdays from Monday (0) while cron numbers them from Sunday (0 and 7),
so numeric weekdays are rewritten into names before APScheduler sees them; names
(``mon``-``sun``) pass through. ``last_slot`` finds the scheduled time an edition belongs to.

Slots are wall-clock times in the site's zone, and a wall-clock time names one slot: on the
night clocks go back, a time in the repeated hour (``30 2 * * *`` in Europe/Brussels, the
repeated half hour of Australia/Lord_Howe) fires at its first occurrence only, as cron
does, so a daily digest makes one edition that day, not two an hour apart. APScheduler 3
reads the repeated hour's wall times without their ``fold`` and can answer a time *before*
the one asked about, which made ``last_slot`` loop forever; every answer is checked here
against the instant asked about, in UTC (comparing two times of one ``ZoneInfo`` compares
wall clocks and ignores the fold). A time that does not exist (02:30 on the night clocks go
forward) fires once, at the instant APScheduler gives it (03:30 summer time).

APScheduler is imported where a trigger is made: every command checks the config's cron
expressions, and ``check`` passes a plain one (numbers, ranges, steps and lists within
bounds) without it, so a command that schedules nothing does not load it (issue 13);
tests/test_cron.py compares ``check`` with APScheduler on thousands of expressions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAME_TO_CRON = {name: number for number, name in enumerate(_DAY_NAMES)}
# Windows tried, smallest first, when looking back for the last fire time.
_LOOKBACK = (timedelta(hours=2), timedelta(days=2), timedelta(days=9), timedelta(days=63),
             timedelta(days=400), timedelta(days=366 * 8 + 2))


def _day_number(token: str) -> int:
    token = token.strip().lower()
    if token in _NAME_TO_CRON:
        return _NAME_TO_CRON[token]
    number = int(token)
    if not 0 <= number <= 7:
        raise ValueError(f"weekday {number} is out of range 0-7")
    return number % 7


def _weekday_field_to_names(field: str) -> str:
    """Expand a cron weekday field (numbers or names, lists, ranges, steps) to day names."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step {step} must be at least 1")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first_text, last_text = span.split("-", 1)
            first, last = _day_number(first_text), _day_number(last_text)
            if last_text.strip() == "7":
                last = 7
            if last < first:
                raise ValueError(f"weekday range {span!r} runs backwards")
        else:
            first = last = _day_number(span)
            if step_text:
                last = 6
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


def _fields(expression: str) -> list[str]:
    """The five fields of an expression, or ``ValueError``."""
    if not re.fullmatch(r"[ -~]*", expression):  # int() and APScheduler read "٨" as 8
        raise ValueError("expected ASCII digits, letters and spaces (minute hour day month "
                         f"weekday), got {expression[:60]!r}")
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    return fields


def make_trigger(expression: str, timezone: ZoneInfo) -> CronTrigger:
    """Build the APScheduler trigger for a five-field cron expression with cron's weekdays.

    Raises ``ValueError`` with APScheduler's or our own explanation when it is not valid.
    """
    minute, hour, day, month, weekday = _fields(expression)
    trigger: CronTrigger = _wall_clock_trigger()(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekday_field_to_names(weekday),
        timezone=timezone,
    )
    if trigger.get_next_fire_time(None, _EPOCH) is None:
        raise ValueError(NEVER_FIRES)
    return trigger


NEVER_FIRES = "it never fires: no month has that day (February has 29 days at most; April, " \
              "June, September and November have 30)"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _values(field: str, low: int, high: int) -> set[int]:
    """The numbers a plain field (``_is_plain``) names."""
    found: set[int] = set()
    for element in field.split(","):
        match = _ELEMENT.fullmatch(element)
        assert match is not None, element
        every, first, last, step = match.groups()
        start, end = (low, high) if every == "*" else (int(first), int(last or first))
        found.update(range(start, end + 1, int(step or 1)))
    return found


def _never_fires(fields: list[str]) -> bool:
    """Whether a plain expression's days and months make no date (``0 8 30 2 *``): a digest
    that would never send, accepted without a word before."""
    days, months = _values(fields[2], 1, 31), _values(fields[3], 1, 12)
    return not any(day <= _MONTH_DAYS[month - 1] for month in months for day in days)


def _repeated(fire: datetime) -> bool:
    """Whether ``fire`` is the second occurrence of its wall-clock time (clocks went back)."""
    local = fire.astimezone(fire.tzinfo)
    first = local.replace(fold=0).astimezone(UTC)
    return first < fire.astimezone(UTC)


@cache
def _wall_clock_trigger() -> type[CronTrigger]:
    """APScheduler's ``CronTrigger`` answering, in real time, the first slot at or after the
    instant asked about, never an earlier one and never a repeated wall-clock time; made on
    first use so that APScheduler loads only when a trigger is made (issue 13)."""
    from apscheduler.triggers.cron import CronTrigger

    class WallClockCron(CronTrigger):  # type: ignore[misc]
        def get_next_fire_time(self, previous_fire_time: datetime | None,
                               now: datetime) -> datetime | None:
            probe = now.astimezone(UTC)
            if previous_fire_time is not None:
                probe = min(probe, previous_fire_time.astimezone(UTC) + _TICK)
            while True:
                fire: datetime | None = super().get_next_fire_time(None, probe)
                if fire is None:
                    return None
                fire = fire.astimezone(self.timezone)  # the fold of the real instant
                if fire.astimezone(UTC) >= probe and not _repeated(fire):
                    return fire
                # Before the probe (a repeated wall time read with fold 0) or a repeat:
                # look again after the repeat of that wall time.
                repeat = fire.replace(fold=1).astimezone(UTC)
                probe = max(probe + _TICK, repeat + _TICK)

    return WallClockCron


_TICK = timedelta(microseconds=1)


# APScheduler's bounds of the fields ``_is_plain`` reads, in the expression's order.
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12))
# One element of a field's list: ``*``, ``*/S``, ``A``, ``A-B`` or ``A-B/S`` (four digits at
# most, so ``int`` reads any of them).
_ELEMENT = re.compile(r"(\*|([0-9]{1,4})(?:-([0-9]{1,4}))?)(?:/([0-9]{1,4}))?", re.ASCII)


def _is_plain(fields: list[str]) -> bool:
    """Whether APScheduler accepts these fields for sure: each element of the minute, hour,
    day and month within bounds (a range not backwards, a step from 1 to the range's span,
    as APScheduler checks them), and a weekday field ``_weekday_field_to_names`` reads.
    Anything else (names, ``A/S``, ``last``, ``2nd mon``) is left to APScheduler."""
    for field, (low, high) in zip(fields, _BOUNDS, strict=False):
        for element in field.split(","):
            found = _ELEMENT.fullmatch(element)
            if found is None:
                return False
            every, first, last, step = found.groups()
            if every == "*":
                start, end = low, high
            elif step is not None and last is None:
                return False  # A/S: APScheduler's span is its own (up to the field's end)
            else:
                start, end = int(first), int(last or first)
            if not low <= start <= end <= high:
                return False
            if step is not None and not 1 <= int(step) <= end - start:
                return False
    try:
        _weekday_field_to_names(fields[4])
    except ValueError:
        return False
    return True


def check(expression: str, timezone: ZoneInfo) -> None:
    """Raise ``ValueError`` exactly when ``make_trigger`` would, with its words; a plain
    expression (``_is_plain``) is passed without loading APScheduler."""
    fields = _fields(expression)
    if not _is_plain(fields):
        make_trigger(expression, timezone)
    elif _never_fires(fields):
        raise ValueError(NEVER_FIRES)


def next_slot(trigger: CronTrigger, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after`` (in real time: ``after`` is moved to
    UTC first, since adding to a zoned time drops its fold and can step an hour back)."""
    fire: datetime | None = trigger.get_next_fire_time(None, after.astimezone(UTC) + _TICK)
    return fire


def last_slot(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time at or before ``now``: the slot an edition made now belongs to."""
    now = now.astimezone(UTC)
    for window in _LOOKBACK:
        fire = next_slot(trigger, now - window)
        if fire is None or fire > now:
            continue
        while True:
            following = next_slot(trigger, fire)
            if following is None or following > now:
                return fire
            fire = following
    return None
