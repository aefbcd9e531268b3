"""Is an RRULE one the expander can run? The reasons it cannot, in the author's terms.

``dateutil`` (under ``recurring-ical-events``) trusts its rule: ``INTERVAL=0`` never
advances and fills memory without end, ``BYHOUR=99`` or ``INTERVAL=-1`` fail with messages
about something else, ``BYMONTHDAY=0`` is read as if it meant a day. So every rule is
checked against RFC 5545 (section 3.3.10) before it is expanded, and a series whose rule
fails is left out by its caller, named, with the reason this module gives.
"""

from __future__ import annotations

import calendar as gregorian
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import icalendar
from dateutil.rrule import rrulestr

MAX_INTERVAL = 1_000
"""The largest INTERVAL accepted (every 1 000 years is already no series anyone means)."""
MAX_COUNT = 100_000
"""The largest COUNT accepted; expansion is also bounded by its cost in steps."""
MAX_VALUES = 366
"""The most values one BY* part may list (a BYYEARDAY naming every day of a year)."""

FREQUENCIES = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")

# Each numeric BY* part: its bounds, and whether negative values (counted from the end)
# are allowed (then 0 is not: there is no "zeroth" day).
_RANGES: dict[str, tuple[int, int, bool]] = {
    "BYSECOND": (0, 60, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTH": (1, 12, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYSETPOS": (1, 366, True),
}
# RFC 5545: parts that MUST NOT be used with some frequencies.
_NOT_WITH = {
    "BYWEEKNO": ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY"),
    "BYYEARDAY": ("DAILY", "WEEKLY", "MONTHLY"),
    "BYMONTHDAY": ("WEEKLY",),
}


def rule_problem(rule: Any, start: datetime | None = None) -> str | None:
    """Why ``rule`` (an RRULE property value) cannot be expanded from ``start`` (the
    series' DTSTART as a naive date-time, when known), or None if it can."""
    if isinstance(rule, icalendar.prop.vBroken):
        return f"RRULE {str(rule)[:100]!r} is not a valid rule"
    if not isinstance(rule, Mapping):
        return "RRULE is not a valid rule"
    frequency = _single(rule, "FREQ")
    if frequency is None or str(frequency).upper() not in FREQUENCIES:
        return f"RRULE needs FREQ, one of {', '.join(FREQUENCIES)}"
    frequency = str(frequency).upper()
    problem = (_bounded(rule, "INTERVAL", 1, MAX_INTERVAL)
               or _bounded(rule, "COUNT", 0, MAX_COUNT))
    if problem:
        return problem
    if rule.get("COUNT") and rule.get("UNTIL"):
        return "RRULE has both COUNT and UNTIL"
    for name, (low, high, signed) in _RANGES.items():
        problem = _listed(rule, name, low, high, signed)
        if problem:
            return problem
    for name, frequencies in _NOT_WITH.items():
        if rule.get(name) and frequency in frequencies:
            return f"RRULE {name} cannot be used with FREQ={frequency}"
    return (_weekdays(rule, frequency) or _week_start(rule) or _set_position(rule, frequency)
            or _month_days_meet(rule) or _dateutil_refuses(rule, start))


def _single(rule: Mapping[str, Any], name: str) -> Any:
    values = rule.get(name)
    if values is None:
        return None
    values = list(values) if isinstance(values, list | tuple) else [values]
    return values[0] if len(values) == 1 else values


def _values(rule: Mapping[str, Any], name: str) -> list[Any]:
    values = rule.get(name)
    if values is None:
        return []
    return list(values) if isinstance(values, list | tuple) else [values]


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _bounded(rule: Mapping[str, Any], name: str, low: int, high: int) -> str | None:
    values = _values(rule, name)
    if not values:
        return None
    number = _integer(values[0]) if len(values) == 1 else None
    if number is None or not low <= number <= high:
        return f"RRULE {name} must be a whole number from {low} to {high}, got " \
               f"{','.join(str(v) for v in values)[:40]}"
    return None


def _listed(rule: Mapping[str, Any], name: str, low: int, high: int,
            signed: bool) -> str | None:
    values = _values(rule, name)
    if len(values) > MAX_VALUES:
        return f"RRULE {name} lists more than {MAX_VALUES} values"
    for value in values:
        number = _integer(value)
        allowed = number is not None and (
            low <= number <= high or (signed and -high <= number <= -low))
        if not allowed:
            span = f"{low} to {high}" + (f" or -{high} to -{low}" if signed else "")
            return f"RRULE {name}={str(value)[:20]} is out of range ({span})"
    return None


def _weekdays(rule: Mapping[str, Any], frequency: str) -> str | None:
    values = _values(rule, "BYDAY")
    if len(values) > MAX_VALUES:
        return f"RRULE BYDAY lists more than {MAX_VALUES} values"
    for value in values:
        match = _DAY.match(str(value).strip().upper())
        if match is None:
            return f"RRULE BYDAY={str(value)[:20]} is not a weekday (MO, -1FR, 2TU...)"
        if match.group(2) is not None:
            ordinal = int(match.group(2))
            if frequency not in ("MONTHLY", "YEARLY") or rule.get("BYWEEKNO"):
                return f"RRULE BYDAY={value} counts weekdays, which only " \
                       "FREQ=MONTHLY or FREQ=YEARLY (without BYWEEKNO) can"
            limit = 5 if frequency == "MONTHLY" or rule.get("BYMONTH") else 53
            if not 1 <= ordinal <= limit:
                return f"RRULE BYDAY={value} is out of range (1 to {limit} either way)"
        elif match.group(1):
            return f"RRULE BYDAY={value} has a sign but no number"
    return None


def _week_start(rule: Mapping[str, Any]) -> str | None:
    values = _values(rule, "WKST")
    if values and (len(values) != 1 or str(values[0]).upper() not in _WEEKDAYS):
        return f"RRULE WKST must be one weekday (MO...SU), got {values!r:.40}"
    return None


def _set_position(rule: Mapping[str, Any], frequency: str) -> str | None:
    """BYSETPOS picks among the times of each period; picking past the last one never
    matches, and dateutil then searches every period to the year 9999."""
    positions = [abs(int(p)) for p in _values(rule, "BYSETPOS")]
    if not positions:
        return None
    others = [name for name in (*_RANGES, "BYDAY") if name != "BYSETPOS" and rule.get(name)]
    if not others:
        return "RRULE BYSETPOS needs another BY* part to pick from"
    finer = FREQUENCIES[:FREQUENCIES.index(frequency)]  # e.g. DAILY: HOURLY and finer
    times = 1
    for part, unit in (("BYHOUR", "HOURLY"), ("BYMINUTE", "MINUTELY"),
                       ("BYSECOND", "SECONDLY")):
        if unit in finer:
            times *= max(len(_values(rule, part)), 1)
    days = {"WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}.get(frequency, 1)
    most = days * times
    if min(positions) > most:
        return f"RRULE BYSETPOS={min(positions)} picks past the {most} times of each period"
    return None


def _month_days_meet(rule: Mapping[str, Any]) -> str | None:
    """BYMONTH=2;BYMONTHDAY=30 names no day at all: dateutil would search to year 9999."""
    months = [int(m) for m in _values(rule, "BYMONTH")]
    days = [abs(int(d)) for d in _values(rule, "BYMONTHDAY")]
    if months and days and not any(day <= _longest(month) for month in months
                                   for day in days):
        return "RRULE BYMONTH and BYMONTHDAY name no existing day"
    return None


def _dateutil_refuses(rule: Any, start: datetime | None) -> str | None:
    """What dateutil itself refuses when the rule is built (no occurrence is computed):
    ``FREQ=HOURLY;INTERVAL=2;BYHOUR=1`` from an even hour never reaches hour 1."""
    text = rule.to_ical().decode() if hasattr(rule, "to_ical") else str(rule)
    text = ";".join(part for part in text.split(";") if not part.upper().startswith("UNTIL="))
    try:
        rrulestr(text, dtstart=start or datetime(2019, 1, 1))
    except (ValueError, TypeError) as exc:
        return f"RRULE cannot be expanded: {str(exc)[:100]}"
    return None


def _longest(month: int) -> int:
    return gregorian.monthrange(2020, month)[1]  # a leap year: February's 29th exists


def rules_problem(rules: Iterable[Any], start: datetime | None = None) -> str | None:
    """The first problem of any of a series' rules."""
    for rule in rules:
        problem = rule_problem(rule, start)
        if problem:
            return problem
    return None
