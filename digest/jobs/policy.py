"""The outbox's rules for a refusal and for pace: how temporary failures are retried, how
fast messages leave, and which permanent refusal says the member's address is dead.

Kept apart from the outbox's mechanics (claims, threads, records) so the numbers an
operator may tune and the reading of SMTP answers can be read and tested alone.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from digest.mail.transports import PermanentFailure

_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_UNKNOWN_USER = ("user unknown", "unknown user", "no such user", "no such mailbox",
                 "mailbox not found", "does not exist", "invalid recipient")


@dataclass(frozen=True)
class RetryPolicy:
    """How temporary failures are retried: after ``first_delay``, doubling each time up to
    ``longest_delay``; the attempt numbered ``max_attempts`` that fails makes the row
    ``failed`` (5 min, 10, 20, 40, 80: about two and a half hours of trying by default)."""

    max_attempts: int = 6
    first_delay: timedelta = timedelta(minutes=5)
    longest_delay: timedelta = timedelta(hours=4)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1 for the first)."""
        wait: timedelta = self.first_delay * 2 ** max(attempts - 1, 0)
        return min(wait, self.longest_delay)


class RateLimiter:
    """At most ``rate`` messages per second over every sending thread, evenly spaced.

    ``clock`` and ``sleep`` are injectable so tests count the waits instead of sleeping.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError(f"a rate is positive, got {rate}")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Return when the next message may leave."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


def is_unknown_user(failure: PermanentFailure) -> bool:
    """A recipient refused as non-existent (5.1.x, or "user unknown" without a code):
    the member's address is dead and further editions would bounce too."""
    if failure.stage != "rcpt" or failure.code not in (550, 551, 553):
        return False
    answer = failure.answer.lower()
    enhanced = _ENHANCED.search(answer)
    if enhanced:
        return enhanced.group(1) == "5" and enhanced.group(2) == "1"
    return any(phrase in answer for phrase in _UNKNOWN_USER)
