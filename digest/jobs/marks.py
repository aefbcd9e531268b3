"""Group commit of the outbox's ``sent`` marks: the 250s of several connections recorded in
one durable commit, by committer threads of the batch.

A sending thread that got its 250 hands the mark over (``submit``) and may prepare its next
message meanwhile, but lets the server accept nothing more on its connection until that
mark is committed (``wait``): so a crash still doubles at most one message per open
connection (the one whose 250 came in the instant before), as with one commit per message.
While the committers are busy the next marks gather; the first one free takes them all at
once. With one connection that is one commit per message; with N, up to N marks share one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from digest.mail.envelope import Envelope
from digest.mail.transports.base import Stages, Transport

Mark = tuple[int, str]  # delivery id, Message-ID


class GroupCommit:
    """Marks gathered from the sending threads and committed in groups by committer
    threads (one per ``commits`` function, each with its own connection) until ``close``.

    A group is whatever was gathered when a committer became free: with several
    committers a 250 need not wait for the commit under way to end before its own begins
    (the database flushes commits arriving together at once)."""

    def __init__(self, commits: Sequence[Callable[[Sequence[Mark]], None]]) -> None:
        self._ready = threading.Condition()
        self._gathered: list[Mark] = []
        self._taken = 0  # groups handed to a commit so far (the next group is _taken + 1)
        self._finished: set[int] = set()  # groups whose commit ended
        self._closed = False
        self._errors: dict[int, BaseException] = {}
        self._threads = [threading.Thread(target=self._run, args=(commit,), daemon=True,
                                          name=f"sent-marks-{n}")
                         for n, commit in enumerate(commits)]
        for thread in self._threads:
            thread.start()

    def submit(self, mark: Mark) -> int:
        """Hand a mark over; the number of its group, to ``wait`` for."""
        with self._ready:
            if self._closed:
                raise RuntimeError("GroupCommit is closed")
            self._gathered.append(mark)
            self._ready.notify_all()
            return self._taken + 1

    def wait(self, group: int | None) -> None:
        """Return once ``group`` is committed (None: nothing to wait for); raise what its
        commit raised."""
        if group is None:
            return
        with self._ready:
            while group not in self._finished:
                self._ready.wait()
            error = self._errors.get(group)
        if error is not None:
            raise error

    def record(self, mark: Mark) -> None:
        """``submit`` and ``wait``: return once ``mark`` is committed."""
        self.wait(self.submit(mark))

    def close(self) -> None:
        """Commit what was handed over, then stop the committers."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()

    def _run(self, commit: Callable[[Sequence[Mark]], None]) -> None:
        with self._ready:
            while True:
                while not self._gathered and not self._closed:
                    self._ready.wait()
                if not self._gathered:
                    return
                marks, self._gathered = self._gathered, []
                self._taken += 1
                number = self._taken
                self._ready.release()
                try:
                    commit(marks)
                except BaseException as exc:  # every thread of the group sees it failed
                    self._errors[number] = exc
                finally:
                    self._ready.acquire()
                    self._finished.add(number)
                    self._ready.notify_all()


def hand_over(transport: Transport, envelope: Envelope, marks: GroupCommit,
              previous: int | None, go_on: Callable[[], bool]) -> bool:
    """Hand one message over on this thread's connection once the mark of its previous
    message (group ``previous``) is committed. A transport that stages (SMTP) sends all
    but the last line meanwhile, so the commit and the network overlap. False, nothing
    delivered, when ``go_on`` says no once that commit is done (a pause it read)."""
    if not isinstance(transport, Stages):
        marks.wait(previous)
        if not go_on():
            return False
        transport.send(envelope)
        return True
    staged = transport.stage(envelope)
    try:
        marks.wait(previous)
    except BaseException:
        staged.abandon()
        raise
    if not go_on():
        staged.abandon()
        return False
    staged.finish()
    return True
