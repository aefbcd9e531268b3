"""A few parsing processes beside the polling threads, each bounded in time.

The threads fetch (waiting releases the GIL) and hand each feed's bytes to one of these
processes (``parse_process``), which parses and seals it while the threads go on: parsing
is spread over the CPUs instead of queueing for one. ``collect.processes`` says how many
processes parse (``processes_for``), the polling one included: it parses too, in one
thread at a time and at most ``HERE_SHARE`` of the feeds, so one process fewer is started
and held in memory. A thread takes a
free parser, or waits for one; processes start with the first feed that needs parsing
(none for a re-poll where every feed answers "not modified").

One bad feed costs only itself: a parse that outlasts ``limit`` seconds gets its process
killed, one that kills its process (a crash in a C extension, the kernel's OOM killer) is
found dead, and either way that source's poll fails with a message saying so while a new
process takes the place of the lost one for the next feed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

import digest
from digest.errors import SourceError
from digest.models import Item
from digest.sources.parse_process import READY, Answer, Job, answer, unpack
from digest.sources.parsed import Parsed

COMMAND = (sys.executable, "-m", "digest.sources.parse_process")
START_WITHIN = 30.0
"""Seconds a new parsing process has to import what it needs (not a feed's fault)."""
AUTO_FROM = 10
"""With ``collect.processes`` unset, processes are started when at least this many feeds
are polled together: starting one (about a tenth of a second) costs more than a few feeds."""


def processes_for(wanted: int | None, feeds: int, threads: int) -> int:
    """How many processes parse a poll of ``feeds`` feeds, the polling one included:
    ``wanted`` (None: one per CPU this process may use, from ``AUTO_FROM`` feeds on), never
    more than the feeds or the threads that feed them; 1: the polling threads alone."""
    if wanted is None:
        wanted = usable_cpus() if feeds >= AUTO_FROM else 1
    return max(1, min(wanted, feeds, threads))


def usable_cpus() -> int:
    """The CPUs this process may run on (all of the machine's where that is not known)."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; not macOS
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


class _LostError(Exception):
    """The process did not answer: it was too slow, or it died."""


class _Slot:
    """One parsing process, started when first asked and again after it was lost."""

    def __init__(self, command: Sequence[str]) -> None:
        self._command = list(command)
        self._process: subprocess.Popen[bytes] | None = None
        self._jobs: Connection | None = None
        self._answers: Connection | None = None
        self._ready = False

    def start(self) -> None:
        jobs_read, jobs_write = os.pipe()
        answers_read, answers_write = os.pipe()
        package_root = str(Path(digest.__file__).resolve().parent.parent)
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        try:
            self._process = subprocess.Popen(
                [*self._command, str(jobs_read), str(answers_write)],
                pass_fds=(jobs_read, answers_write), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path})
        except OSError:
            for fd in (jobs_write, answers_read):
                os.close(fd)
            raise
        finally:
            os.close(jobs_read)
            os.close(answers_write)
        self._jobs = Connection(jobs_write, readable=False)
        self._answers = Connection(answers_read, writable=False)
        self._ready = False

    def ask(self, job: Job, limit: float) -> Answer:
        """Send one job and wait at most ``limit`` seconds for its answer."""
        if self._process is None:
            try:
                self.start()
            except OSError as exc:
                raise SourceError(f"cannot start a parsing process: {exc}") from None
        assert self._jobs is not None and self._answers is not None
        try:
            if not self._ready:
                within = max(limit, START_WITHIN)
                if not self._answers.poll(within) or self._answers.recv() != READY:
                    raise _LostError(f"the parsing process did not start within {within:g}s")
                self._ready = True
            self._jobs.send(job)
            if not self._answers.poll(limit):
                raise _LostError(f"parsing took more than {limit:g}s; its process was stopped")
            answer: Answer = self._answers.recv()
        except (EOFError, OSError):
            raise _LostError(f"the parsing process died ({self._death()})") from None
        return answer

    def _death(self) -> str:
        assert self._process is not None
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "its pipe broke"
        return f"signal {-code}" if code < 0 else f"exit status {code}"

    def stop(self, kill: bool = False) -> None:
        """Close the pipes (the process then exits by itself) or kill it; reap it."""
        for connection in (self._jobs, self._answers):
            if connection is not None:
                connection.close()
        process, self._process, self._jobs, self._answers = self._process, None, None, None
        if process is None:
            return
        if kill:
            process.kill()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


HERE_SHARE = 0.3
"""The most of the feeds the polling process parses itself: it also fetches and stores
(about 0.7 s of a hundred feeds' 2.4 s), and a larger share makes it the one the parsing
processes wait for."""


class _Here:
    """The polling process itself as one more parser: a thread parses while the others
    wait on the network, so one process fewer is started (and held in memory). No time
    bound here, as when there are no parsing processes: a thread cannot be stopped."""

    def ask(self, job: Job, limit: float) -> Answer:
        return answer(job)

    def stop(self, kill: bool = False) -> None:
        pass


class ParsingProcesses:
    """``size`` parsing processes (and, with ``here``, one polling thread at a time),
    shared by the polling threads; ``close`` stops them."""

    def __init__(self, size: int, limit: float, command: Sequence[str] = COMMAND,
                 here: bool = False) -> None:
        self.limit = limit
        self._slots = [_Slot(command) for _ in range(size)]
        self._idle = list(self._slots)
        self._here = _Here() if here else None
        self._here_idle = here
        self._given = self._given_here = 0
        self._turn = threading.Condition()
        self._starting = threading.Lock()
        self._started = False

    def _take(self) -> _Slot | _Here:
        """A free parser: a parsing process, else this process within its share."""
        with self._turn:
            while True:
                slot: _Slot | _Here | None = None
                if self._idle:
                    slot = self._idle.pop()
                elif self._here is not None and self._here_idle and (
                        not self._slots or self._given_here <= HERE_SHARE * self._given):
                    self._here_idle, slot = False, self._here
                    self._given_here += 1
                if slot is not None:
                    self._given += 1
                    return slot
                self._turn.wait()

    def _give_back(self, slot: _Slot | _Here) -> None:
        with self._turn:
            if isinstance(slot, _Here):
                self._here_idle = True
            else:
                self._idle.append(slot)
            self._turn.notify_all()

    def _start_all(self) -> None:
        """Start every process when the first feed comes (none for a poll where every
        feed is unchanged), together, so they import while the next feeds are fetched;
        one that cannot start is tried again, and reported, when a feed needs it."""
        with self._starting:
            if self._started:
                return
            self._started = True
            for slot in self._slots:
                with contextlib.suppress(OSError):
                    slot.start()

    def read(self, job: Job) -> Parsed:
        """The sealed items and problems of one job's feed, read in a free process.

        Raises ``SourceError`` with the reader's message, or saying the process was too
        slow or died (it is then replaced)."""
        self._start_all()
        slot = self._take()
        try:
            reply = slot.ask(job, self.limit)
        except _LostError as lost:
            slot.stop(kill=True)
            raise SourceError(str(lost)) from None
        finally:
            self._give_back(slot)
        if reply[0] == "error":
            raise SourceError(reply[1])
        source_id = job[2].source_id
        items: list[Item] = [unpack(row, source_id) for row in reply[1]]
        return Parsed(items, list(reply[2]))

    def close(self) -> None:
        """Stop every process (call when no thread uses them any more)."""
        for slot in self._slots:
            slot.stop()
