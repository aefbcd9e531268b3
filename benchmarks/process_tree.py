"""The memory of a process and of every process it starts, sampled while it works.

``getrusage`` gives one process's peak; a job that starts parsing processes must count
theirs too. A thread samples the tree every few milliseconds from ``/proc`` (Linux): each
descendant's own peak (``VmHWM``, kept from its last sample before it exits) and the sum of
every process's proportional set size (``Pss``: a page shared by n processes counts 1/n),
the memory the tree really held at that moment. Reported: the sum of the peaks (each
process counted whole, shared pages as many times as they are mapped: the strict figure),
the highest sum of PSS, and the CPU time of the process and of its children.
"""

from __future__ import annotations

import os
import resource
import threading
from pathlib import Path


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _descendants(pid: int) -> list[int]:
    todo, found = _children(pid), []
    while todo:
        child = todo.pop()
        found.append(child)
        todo += _children(child)
    return found


def _kib(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class TreeMemory:
    """Sample this process's tree from ``start()`` to ``stop()``; figures in KiB."""

    def __init__(self, interval: float = 0.02) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.child_peaks: dict[int, int] = {}
        self.pss_peak = 0

    def start(self) -> TreeMemory:
        self._cpu = self._cpu_times()
        self._thread.start()
        return self

    @staticmethod
    def _cpu_times() -> tuple[float, float]:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # those reaped so far
        return (own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime)

    def _sample(self) -> None:
        me = os.getpid()
        pss = _kib(f"/proc/{me}/smaps_rollup", "Pss:")
        for child in _descendants(me):
            peak = _kib(f"/proc/{child}/status", "VmHWM:")
            self.child_peaks[child] = max(self.child_peaks.get(child, 0), peak)
            pss += _kib(f"/proc/{child}/smaps_rollup", "Pss:")
        self.pss_peak = max(self.pss_peak, pss)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def stop(self) -> dict[str, float]:
        """Stop sampling: this process's peak, the children's, their sum, the PSS peak, and
        the CPU seconds this process and its children (once reaped) used meanwhile."""
        self._sample()
        self._stop.set()
        self._thread.join()
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        children = sum(self.child_peaks.values())
        cpu = self._cpu_times()
        return {"own_cpu": cpu[0] - self._cpu[0], "children_cpu": cpu[1] - self._cpu[1],
                "own_peak_kb": own, "children_peak_kb": children,
                "children": len(self.child_peaks), "tree_peak_kb": own + children,
                "tree_pss_peak_kb": self.pss_peak}
