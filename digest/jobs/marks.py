"""Group commit of the outbox's ``sent`` marks: the 250s of several connections recorded in
one durable commit.

A sending thread that got its 250 hands the mark over (``submit``) and may prepare its next
message meanwhile, but lets the server accept nothing more on its connection until that
mark is committed (``wait``): so a crash still doubles at most one message per open
connection (the one whose 250 came in the instant before), as with one commit per message.

Marks are committed when a sending thread needs one of them committed (it waits to end its
next message), not as each arrives: meanwhile the other connections' 250s gather, so one
commit carries several (each commit costs about as much CPU as a message). The thread that
needs the commit makes it, on a free one of the batch's connections for marks, taking every
mark gathered so far (a leader's group commit): handing it to a committer thread instead
cost two thread wake-ups per commit, a fifth of a sender's CPU (benchmarks/sending.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from digest.mail.envelope import Envelope
from digest.mail.transports.base import Staged, Transport

Mark = tuple[int, str]  # delivery id, Message-ID
Commit = Callable[[Sequence[Mark]], None]


class GroupCommit:
    """Marks gathered from the sending threads and committed in groups by the threads that
    wait for them, each commit with one of ``commits`` (one per connection, one group at a
    time each).

    A group is whatever was gathered when a sending thread came to need one of its marks
    committed and a connection was free: with two, a commit need not wait for the one under
    way to end (the database flushes commits arriving together at once)."""

    def __init__(self, commits: Sequence[Commit]) -> None:
        if not commits:
            raise ValueError("GroupCommit needs at least one way to commit")
        self._ready = threading.Condition()  # a commit ended (its connection is free again)
        self._gathered: list[Mark] = []
        self._taken = 0  # groups taken to a commit so far (the next group is _taken + 1)
        self._finished: set[int] = set()  # groups whose commit ended
        self._waited: set[int] = set()  # groups some thread waited for (saw their errors)
        self._free = list(commits)  # the commits not under way
        self._all = len(commits)
        self._closed = False
        self._errors: dict[int, BaseException] = {}

    def submit(self, mark: Mark) -> int:
        """Hand a mark over; the number of its group, to ``wait`` for."""
        with self._ready:
            if self._closed:
                raise RuntimeError("GroupCommit is closed")
            self._gathered.append(mark)
            return self._taken + 1

    def wait(self, group: int | None) -> None:
        """Return once ``group`` is committed (None: nothing to wait for), committing it
        here when nobody has taken it yet; raise what its commit raised."""
        if group is None:
            return
        with self._ready:
            self._waited.add(group)
            while group not in self._finished:
                if group > self._taken and self._free:
                    self._commit_gathered()
                else:
                    self._ready.wait()
            error = self._errors.get(group)
        if error is not None:
            raise error

    def record(self, mark: Mark) -> None:
        """``submit`` and ``wait``: return once ``mark`` is committed."""
        self.wait(self.submit(mark))

    def close(self) -> None:
        """Commit what was handed over and not waited for; raise the first error of a group
        no thread waited for (its marks are not recorded: the caller must know)."""
        with self._ready:
            self._closed = True
            while self._gathered or len(self._free) < self._all:
                if self._gathered and self._free:
                    self._commit_gathered()
                else:
                    self._ready.wait()
        unseen = [error for group, error in sorted(self._errors.items())
                  if group not in self._waited]
        if unseen:
            raise unseen[0]

    def _commit_gathered(self) -> None:
        """Commit every mark gathered as the next group, on a free commit; called and
        returning with the lock held, released while the commit runs."""
        commit = self._free.pop()
        marks, self._gathered = self._gathered, []
        self._taken += 1
        number = self._taken
        error: BaseException | None = None
        try:  # (released inside: an interrupt between the two still ends in ``finally``)
            self._ready.release()
            commit(marks)
        except BaseException as exc:  # every thread of the group sees it failed
            error = exc
        finally:
            self._ready.acquire()
            if error is not None:
                self._errors[number] = error
            self._finished.add(number)
            self._free.append(commit)
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
