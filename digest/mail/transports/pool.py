"""Several SMTP connections shared by the sending threads.

One connection carries one message at a time; ``delivery.concurrency`` threads send in
parallel, each borrowing a connection, so a slow server answer holds up only one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from digest.mail.envelope import Envelope
from digest.mail.transports.smtp import SmtpTransport


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

    def send(self, envelope: Envelope) -> str:
        connection = self._borrow()
        try:
            return connection.send(envelope)
        finally:
            with self._available:
                kept = any(connection is known for known in self._all)
                if kept:
                    self._idle.append(connection)
                    self._available.notify()
            if not kept:  # the pool was closed while this one was busy
                connection.close()

    def _borrow(self) -> SmtpTransport:
        with self._available:
            while not self._idle and len(self._all) >= self.size:
                self._available.wait()
            if self._idle:
                return self._idle.pop()
            connection = self.new_connection()
            self._all.append(connection)
            return connection

    def close(self) -> None:
        with self._available:
            connections, self._all, self._idle = self._all, [], []
        for connection in connections:
            connection.close()
