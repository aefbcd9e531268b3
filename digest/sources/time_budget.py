"""A CPU-time limit on a piece of pure-Python work that cannot be given one otherwise.

dateutil searches for the next occurrence of a rule period by period, to the year 9999,
and has no step limit: a rule whose parts never meet (``BYYEARDAY=366;BYMONTH=1``, valid
part by part) costs seconds to minutes before it gives up. The rules are checked before
they are expanded (``rrule_check``); this is the last resort for what no check foresees.
While the limit runs, a trace function sees each Python call made in this thread and
raises ``OverTimeError`` in it once the time is up; the work unwinds like on any error.
The time is this thread's CPU time, not the wall clock: on a loaded machine (other
processes, other polling threads holding the GIL) a valid series took "more than 2
seconds" of wall time and was skipped. The clock is read every ``CHECK_EVERY`` calls,
since reading a thread's CPU clock is a system call.
Under a debugger or a coverage tracer (a trace function already set) no limit is set.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

CHECK_EVERY = 64  # Python calls between two readings of the thread's CPU clock


class OverTimeError(Exception):
    """The work ran past its time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Run the block for at most about ``seconds`` of this thread's CPU time."""
    if sys.gettrace() is not None:
        yield
        return
    end = time.thread_time() + seconds
    calls = 0

    def check(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        calls += 1
        if calls % CHECK_EVERY == 0 and time.thread_time() > end:
            raise OverTimeError(f"took more than {seconds:g} seconds of CPU")

    sys.settrace(check)
    try:
        yield
    finally:
        sys.settrace(None)
