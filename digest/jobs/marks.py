"""Group commit of the outbox's ``sent`` marks: the 250s of several connections recorded in
one durable commit.

A sending thread that got its 250 hands the mark over and waits until it is committed
before it starts its next message: so a crash still doubles at most one message per open
connection (the one whose 250 came in the instant before), as with one commit per message.
Meanwhile the other connections' marks gather; whichever thread finds no commit under way
commits everything gathered so far (the "leader"), the others wait for it. With one
connection that is one commit per message; with N, up to N marks share one commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

Mark = tuple[int, str]  # delivery id, Message-ID


class GroupCommit:
    """Marks gathered from the sending threads and committed by ``commit`` in groups."""

    def __init__(self, commit: Callable[[Sequence[Mark]], None]) -> None:
        self._commit = commit
        self._ready = threading.Condition()
        self._gathered: list[Mark] = []
        self._taken = 0  # groups handed to a commit so far (the next group is _taken + 1)
        self._done = 0  # groups whose commit ended
        self._committing = False
        self._errors: dict[int, BaseException] = {}

    def record(self, mark: Mark) -> None:
        """Return once ``mark`` is committed; raise what its commit raised."""
        with self._ready:
            self._gathered.append(mark)
            group = self._taken + 1
            while self._done < group:
                if self._committing:
                    self._ready.wait()
                    continue
                self._lead()
            error = self._errors.get(group)
        if error is not None:
            raise error

    def _lead(self) -> None:
        """Commit every mark gathered so far (called holding the lock; released meanwhile)."""
        marks, self._gathered = self._gathered, []
        self._taken += 1
        number = self._taken
        self._committing = True
        self._ready.release()
        try:
            self._commit(marks)
        except BaseException as exc:  # every thread of the group sees its marks failed
            self._errors[number] = exc
        finally:
            self._ready.acquire()
            self._committing = False
            self._done = number
            self._ready.notify_all()
