"""An injectable clock.

Every stage asks a ``Clock`` for the time instead of reading the wall clock, so that
``--now`` can run the product as of any moment (previews of a future edition, demos on the
2019 seed content) and tests never sleep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from digest.dates import YEARS, within_years
from digest.errors import InputError


class Clock(Protocol):
    """Something that tells the current, time-zone aware time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at one instant: what ``--now`` and the tests use."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise InputError(f"a fixed clock needs a time zone: {self.instant.isoformat()}")

    def now(self) -> datetime:
        return self.instant


def parse_now(text: str) -> FixedClock:
    """Parse ``--now`` (ISO 8601 with an offset) into a fixed clock, refusing naive times."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--now {text!r}: expected ISO 8601 with an offset, e.g. 2019-03-18T08:00:00+01:00"
        ) from None
    if instant.tzinfo is None:
        raise InputError(f"--now {text!r}: add an offset such as +01:00 or Z")
    # The years every date the product takes in lies in: the stages look back (cron slots
    # up to 8 years, ``max_age``) and ahead (the next slot, a link's validity) from "now",
    # and a time near year 1 or 9999 put them past the calendar's end (an OverflowError
    # traceback from `run --once` or `status`, instead of a message).
    if not within_years(instant):
        raise InputError(f"--now {text!r}: expected a time in the years {YEARS}")
    return FixedClock(instant)
