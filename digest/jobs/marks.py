"""Group commit of the outbox's ``sent`` marks: the 250s of several connections recorded in
one durable commit, by committer threads of the batch.

A sending thread that got its 250 hands the mark over (``submit``) and may prepare its next
message meanwhile, but lets the server accept nothing more on its connection until that
mark is committed (``wait``): so a crash still doubles at most one message per open
connection (the one whose 250 came in the instant before), as with one commit per message.

Marks are committed when a sending thread needs one of them committed (it waits to end its
next message), not as each arrives: meanwhile the other connections' 250s gather, so one
commit carries several (each commit costs the sender about as much CPU as a message; with
four connections, committing at once gave 1.35 marks per commit). With one connection
that is one commit per message; with N, up to N marks share one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from digest.mail.envelope import Envelope
from digest.mail.transports.base import Staged, Transport

Mark = tuple[int, str]  # delivery id, Message-ID


class GroupCommit:
    """Marks gathered from the sending threads and committed in groups by committer
    threads (one per ``commits`` function, each with its own connection) until ``close``.

    A group is whatever was gathered when a sending thread came to need one of its marks
    committed: with two committers that need not wait for a commit under way to end
    before its own begins (the database flushes commits arriving together at once)."""

    def __init__(self, commits: Sequence[Callable[[Sequence[Mark]], None]]) -> None:
        lock = threading.Lock()
        self._due = threading.Condition(lock)  # committers: a group is wanted, or closing
        self._ready = threading.Condition(lock)  # sending threads: a commit ended
        self._gathered: list[Mark] = []
        self._taken = 0  # groups handed to a commit so far (the next group is _taken + 1)
        self._finished: set[int] = set()  # groups whose commit ended
        self._wanted = 0  # the newest group a sending thread waits for
        self._waited: set[int] = set()  # groups some thread waited for (saw their errors)
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
            return self._taken + 1

    def wait(self, group: int | None) -> None:
        """Return once ``group`` is committed (None: nothing to wait for); raise what its
        commit raised."""
        if group is None:
            return
        with self._ready:
            self._waited.add(group)
            if group > self._taken and group > self._wanted:
                self._wanted = group  # not taken by a committer yet: it is needed now
                self._due.notify()
            while group not in self._finished:
                self._ready.wait()
            error = self._errors.get(group)
        if error is not None:
            raise error

    def record(self, mark: Mark) -> None:
        """``submit`` and ``wait``: return once ``mark`` is committed."""
        self.wait(self.submit(mark))

    def close(self) -> None:
        """Commit what was handed over, then stop the committers; raise the first error of
        a group no thread waited for (its marks are not recorded: the caller must know)."""
        with self._ready:
            self._closed = True
            self._due.notify_all()
        for thread in self._threads:
            thread.join()
        unseen = [error for group, error in sorted(self._errors.items())
                  if group not in self._waited]
        if unseen:
            raise unseen[0]

    def _run(self, commit: Callable[[Sequence[Mark]], None]) -> None:
        with self._ready:
            while True:
                while not (self._gathered and self._wanted > self._taken) \
                        and not self._closed:
                    self._due.wait()
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
    # What ``isinstance(transport, Stages)`` asks, without a protocol check per message.
    stage: Callable[[Envelope], Staged] | None = getattr(transport, "stage", None)
    if stage is None:
        marks.wait(previous)
        if not go_on():
            return False
        transport.send(envelope)
        return True
    staged = stage(envelope)
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
