"""Test doubles shipped with the package, so tests (ours and an operator's) need no patching.

``ManualClock`` is a clock a test moves by hand: the scheduler's jobs read it, and a test
drives a whole week of schedules, a DST change or a restart without sleeping.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from digest.errors import InputError


class ManualClock:
    """A clock that stands still until the test sets or advances it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise InputError("a manual clock needs a time zone")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise InputError("a manual clock needs a time zone")
        self._now = instant

    def advance(self, delta: timedelta) -> None:
        self._now += delta
