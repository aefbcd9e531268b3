"""What every entry point opens once: settings, environment, clock, database and secret,
the mail transport for one job, and the stop signal the senders and the scheduler obey."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from types import FrameType
from typing import TYPE_CHECKING

from digest.clock import Clock
from digest.config import Environment, Settings, database_url
from digest.store import Database

if TYPE_CHECKING:
    from digest.mail.transports import Transport
    from digest.store.editions import EditionRow


@dataclass
class Context:
    """The run's shared, explicit state (no global ``context`` dict as in Pelican)."""

    settings: Settings
    env: Environment
    clock: Clock
    # Set by SIGTERM (the CLI's handler) or by the web server's shutdown: senders finish
    # the message in flight and stop; the scheduler runs no further job.
    stop: threading.Event = field(default_factory=threading.Event)
    # Worker mode (``workers.enabled``): an edition ready to go out is handed to this (it
    # queues its send jobs) instead of being sent here; None sends here, as one process does.
    dispatch_outbox: Callable[[EditionRow], None] | None = None

    @cached_property
    def db(self) -> Database:
        """The store, opened on first use (a command that needs none opens none)."""
        return Database(database_url(self.settings, self.env))

    @cached_property
    def secret(self) -> bytes:
        """The key signing the members' links, created on first use."""
        from digest.tokens import load_or_create_secret

        return load_or_create_secret(self.settings.var_dir, self.env.secret_key)

    @contextmanager
    def open_transport(self) -> Iterator[Transport]:
        """The configured mail transport (file or SMTP pool) for one job, closed after it
        whatever happens, so no job leaves connections to the mail server open."""
        from digest.mail.transports import make_transport

        transport = make_transport(self.settings, self.env)
        try:
            yield transport
        finally:
            transport.close()

    def stop_on_sigterm(self) -> None:
        """Make SIGTERM set ``stop``: messages in flight finish, the rest stay pending.

        A second SIGTERM kills at once (the default action), for an operator who means it.
        Only the main thread can install handlers; elsewhere this does nothing."""
        if threading.current_thread() is not threading.main_thread():
            return
        stop = self.stop

        def handler(signum: int, frame: FrameType | None) -> None:
            stop.set()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

        signal.signal(signal.SIGTERM, handler)

    def close(self) -> None:
        """Close the store if it was opened; the entry point's last word."""
        if "db" in self.__dict__:
            self.db.close()

