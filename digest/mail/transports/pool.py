"""Several SMTP connections shared by the sending threads.

One connection carries one message at a time; ``delivery.concurrency`` threads send in
parallel, each borrowing a connection, so a slow server answer holds up only one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from digest.mail.envelope import Envelope
from digest.mail.transports.smtp import SmtpTransport, StagedMessage


class SmtpPool:
    """Up to ``size`` SMTP connections shared by the sending threads, opened on demand.

    Each ``send`` borrows an idle connection (or opens one while fewer than ``size`` exist,
    else waits for one to come back), so ``size`` threads send in parallel and each
    connection carries one message at a time. A connection that dropped reconnects by
    itself (``SmtpTransport``); ``close`` ends them all and the pool can be used again.
    """

    def __init__(self, connect: Callable[[], SmtpTransport], size: int) -> None:
        if size < 1:
            raise ValueError(f"a pool needs at least one connection, got {size}")
        self.size = size
        self.new_connection = connect
        self._idle: list[SmtpTransport] = []
        self._all: list[SmtpTransport] = []
        self._available = threading.Condition()
        self._mine = threading.local()  # .connection: the one this thread last used

    def send(self, envelope: Envelope) -> str:
        return self.stage(envelope).finish()

    def stage(self, envelope: Envelope) -> PooledMessage:
        """``SmtpTransport.stage`` on a borrowed connection, kept until the message is
        finished or abandoned."""
        connection = self._borrow()
        try:
            staged = connection.stage(envelope)
        except BaseException:
            self._give_back(connection)
            raise
        return PooledMessage(staged, lambda: self._give_back(connection))

    def _give_back(self, connection: SmtpTransport) -> None:
        with self._available:
            kept = connection in self._all  # (a transport is equal only to itself)
            if kept:
                self._idle.append(connection)
                self._available.notify()
        if not kept:  # the pool was closed while this one was busy
            connection.close()

    def _borrow(self) -> SmtpTransport:
        """This thread's own connection when it is idle (each of ``size`` threads keeps
        one: the outbox's promise is per connection), else a new one while fewer than
        ``size`` exist, else any idle one, else wait."""
        mine = getattr(self._mine, "connection", None)
        with self._available:
            while True:
                for index, idle in enumerate(self._idle):
                    if idle is mine:
                        return self._idle.pop(index)
                if len(self._all) < self.size:
                    break
                if self._idle:
                    taken = self._idle.pop()
                    self._mine.connection = taken
                    return taken
                self._available.wait()
            connection = self.new_connection()
            self._all.append(connection)
        self._mine.connection = connection
        return connection

    def close(self) -> None:
        with self._available:
            connections, self._all, self._idle = self._all, [], []
        for connection in connections:
            connection.close()


class PooledMessage:
    """A staged message whose connection goes back to the pool once it is done."""

    def __init__(self, staged: StagedMessage, give_back: Callable[[], None]) -> None:
        self._staged = staged
        self._give_back = give_back

    def finish(self) -> str:
        try:
            return self._staged.finish()
        finally:
            self._give_back()

    def abandon(self) -> None:
        self._staged.abandon()
        self._give_back()
