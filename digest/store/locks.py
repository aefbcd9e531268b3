"""One scheduler per database: a second ``digest serve`` refuses at once.

SQLite: an exclusive, non-blocking ``flock`` on a file beside the database (released by the
kernel when the process dies, even by SIGKILL). PostgreSQL: a session advisory lock held on
a dedicated connection for the life of the service (released when the connection closes).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text

from digest.errors import StoreError
from digest.files import make_private_dir
from digest.store.database import Database


class SchedulerLock:
    """Held while a scheduler runs; ``acquire`` raises ``StoreError`` when another holds it."""

    def __init__(self, db: Database, var_dir: Path) -> None:
        self.db = db
        self.var_dir = var_dir
        self._file: IO[str] | None = None
        self._connection: Any = None

    def acquire(self) -> None:
        if self.db.dialect == "postgresql":
            self._acquire_advisory()
        else:
            self._acquire_file()

    def _acquire_file(self) -> None:
        make_private_dir(self.var_dir)
        path = self.var_dir / "scheduler.lock"
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise StoreError(f"another `digest serve` (pid {holder}) is already running "
                             f"against {self.db.shown}; refusing to start a second "
                             "scheduler") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def _acquire_advisory(self) -> None:
        key = int.from_bytes(hashlib.sha256(b"forum-digest scheduler").digest()[:8], "big",
                             signed=True)
        connection = self.db.engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        if not got:
            connection.close()
            raise StoreError(f"another `digest serve` is already running against "
                             f"{self.db.shown}; refusing to start a second scheduler")
        self._connection = connection

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._connection is not None:
            # The pool would keep the session (and its lock) alive: unlock, then discard.
            with contextlib.suppress(Exception):
                self._connection.execute(text("SELECT pg_advisory_unlock_all()"))
                self._connection.invalidate()
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None



