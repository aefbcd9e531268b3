"""``sources.time_budget``: the last-resort limit on a rule expansion counts the work's own
CPU time, so a machine loaded by other processes (or a thread waiting for the GIL) does
not cut valid work short, while pure-Python work that runs away is still stopped."""

from __future__ import annotations

import threading
import time

import pytest

from digest.sources.time_budget import OverTimeError, time_limit


def _spin(seconds: float) -> int:
    """Pure-Python calls for ``seconds`` of this thread's CPU time."""
    def step(n: int) -> int:
        return n + 1

    calls, end = 0, time.thread_time() + seconds
    while time.thread_time() < end:
        calls = step(calls)
    return calls


def test_work_that_runs_away_is_stopped_soon_after_its_cpu_time() -> None:
    started = time.thread_time()
    with pytest.raises(OverTimeError, match=r"more than 0\.2 seconds of CPU"), time_limit(0.2):
        _spin(30)
    assert time.thread_time() - started < 5


def test_time_spent_waiting_does_not_count() -> None:
    """Wall time without CPU (another thread holding the GIL, a loaded machine, here
    sleeps) leaves the budget untouched."""
    with time_limit(0.3):
        for _ in range(10):
            time.sleep(0.06)  # 0.6 s of wall time, twice the budget
            _spin(0.005)


def test_another_thread_burning_cpu_does_not_use_this_threads_budget() -> None:
    stop = threading.Event()

    def burn() -> None:
        while not stop.is_set():
            _spin(0.01)

    other = threading.Thread(target=burn)
    other.start()
    try:
        with time_limit(0.5):
            for _ in range(40):  # about 0.2 s of this thread's CPU, over 0.5 s of wall
                _spin(0.005)
                time.sleep(0.01)
    finally:
        stop.set()
        other.join()
