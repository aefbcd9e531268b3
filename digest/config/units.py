"""The units a config value is written in: durations, sizes and rates, read strictly.

People type ``30m``, ``10MB`` or ``20/s``; each is read here, within bounds, so no value
overflows later arithmetic, and each refusal quotes the value short (``shown``), since a
value may be megabytes long. Only ASCII digits and spaces count: a look-alike digit is a
mistake to show, not to guess.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from digest.languages import language_tag

MAX_DURATION = timedelta(days=3650)
MAX_RATE = 100_000.0  # messages per second
MAX_SIZE = 1024**3
# ASCII only: Python's \d, \s and float() also take "٣٠", "３" or an em space; a config
# value is typed on a keyboard, and a look-alike digit is a mistake to show, not to guess.
_DURATION = re.compile(r"^ *([0-9]+(?:\.[0-9]+)?) *(s|m|h|d|w) *$", re.ASCII)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_RATE = re.compile(r"^ *([0-9]+(?:\.[0-9]+)?) */ *(s|m|h) *$", re.ASCII)


def shown(value: Any, limit: int = 60) -> str:
    """A value quoted for a one-line message, cut when long (a value may be megabytes)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def _quantity(value: Any, pattern: re.Pattern[str], expected: str) -> tuple[float, str | None]:
    """A bare number (no unit) or an amount and its unit as ``pattern`` reads them: the one
    reading shared by durations and rates, so both refuse the same way."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), None
    match = pattern.match(str(value)[:100])
    if not match:
        raise ValueError(f"expected {expected}, got {shown(value)}")
    amount, unit = match.groups()
    return float(amount), unit


def parse_duration(value: Any) -> timedelta:
    """Read ``30m``, ``1h``, ``30d``, ``2w``, ``0.5s`` (or a number of seconds) as a timedelta,
    between 0 and ``MAX_DURATION`` (so no value overflows, here or in later arithmetic)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        amount, unit = _quantity(value, _DURATION, "a duration such as 30m, 1h, 7d or 2w")
        seconds = amount * (timedelta(**{_UNITS[unit]: 1}).total_seconds() if unit else 1)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"expected a duration such as 30m, 1h, 7d or 2w, got {shown(value)}")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"must be at most {MAX_DURATION.days}d, got {shown(value)}")
    return timedelta(seconds=seconds)


def _show_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def at_least(minimum: timedelta) -> AfterValidator:
    """A duration's lower bound for one key (a poll every second is a mistake, not a wish)."""

    def check(value: timedelta) -> timedelta:
        if value < minimum:
            raise ValueError(f"must be at least {_show_duration(minimum)}, "
                             f"got {_show_duration(value)}")
        return value

    return AfterValidator(check)


_SIZE = re.compile(r"^ *([0-9]+) *(b|kb|kib|mb|mib|gb|gib)? *$", re.IGNORECASE | re.ASCII)
_SIZE_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2,
               "gb": 1024**3, "gib": 1024**3}


def parse_size(value: Any) -> int:
    """Read ``10MB``, ``512KB`` (binary units) or a number of bytes as a byte count."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 < value <= MAX_SIZE:
            raise ValueError(f"expected a size of more than 0 and at most 1GB, got {shown(value)}")
        return value
    match = _SIZE.match(str(value)[:100])
    if not match:
        raise ValueError(f"expected a size such as 512KB or 10MB, got {shown(value)}")
    amount, unit = match.groups()
    size = int(amount) * _SIZE_UNITS[(unit or "b").lower()]
    if not 0 < size <= MAX_SIZE:
        raise ValueError(f"expected a size of more than 0 and at most 1GB, got {shown(value)}")
    return size


def parse_rate(value: Any) -> float:
    """Read ``20/s``, ``600/m`` or ``3600/h`` as messages per second: more than 0, finite,
    at most ``MAX_RATE`` (a rate of 0 would wait forever between two messages)."""
    amount, unit = _quantity(value, _RATE, "a rate such as 20/s or 600/m")
    rate = amount / {"s": 1, "m": 60, "h": 3600}[unit] if unit else amount
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError("expected a rate of more than 0, such as 20/s or 600/m, "
                         f"got {shown(value)}")
    if rate > MAX_RATE:
        raise ValueError(f"must be at most {MAX_RATE:g}/s, got {shown(value)}")
    return rate



Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
# How often something is polled or republished: at least a minute.
Interval = Annotated[timedelta, BeforeValidator(parse_duration), at_least(timedelta(minutes=1))]
# A network wait: more than nothing.
Wait = Annotated[timedelta, BeforeValidator(parse_duration), at_least(timedelta(seconds=0.1))]
LanguageTag = Annotated[str, BeforeValidator(language_tag)]
Size = Annotated[int, BeforeValidator(parse_size)]
Rate = Annotated[float, BeforeValidator(parse_rate)]
