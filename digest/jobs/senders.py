"""Which sending processes hold outbox rows, and which of them are gone.

A claim names its holder ``host:pid:nonce``. A holder of this machine whose process no longer
runs, or whose batch in this very process ended without giving its rows back, is dead: its
rows return to ``pending`` (``release_stale``). Holders on other machines are trusted until
their lease lapses. Kept apart from the sending loop (``outbox``) because the workers' own
housekeeping releases stale claims too, without sending anything.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Collection
from functools import partial
from pathlib import Path

from digest.jobs.context import Context
from digest.store import deliveries

_HOST = socket.gethostname()

# The outbox claims the senders of this process hold right now, whatever context made them:
# a claim naming this process that is not among them was left by a batch that died. It
# describes this process's live senders (claims name host and pid), which every Context of
# the process shares (the scheduler's and the web server's, a test's several), so it is
# module-private state rather than a Context field: one Context cannot see another's.
LIVE_HOLDERS: set[str] = set()


def new_holder() -> str:
    """A fresh claim name for one batch of this process."""
    return f"{_HOST}:{os.getpid()}:{secrets.token_hex(6)}"


def holder_is_dead(claimed_by: str, live: Collection[str] = ()) -> bool:
    """Whether the process named in a claim (``host:pid:nonce``) is known to be gone.

    Only processes of this machine can be checked; others are trusted until their lease
    lapses. A process id that was reused by another program counts as alive (safe side)."""
    host, _, rest = claimed_by.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return claimed_by not in live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a killed child its parent has not reaped yet is a zombie: gone all the same
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return stat.rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def release_stale(ctx: Context) -> int:
    """Return to pending the rows of senders that died (see ``holder_is_dead``)."""
    with ctx.db.transaction() as connection:
        return deliveries.release_stale(connection, ctx.clock.now(),
                                        partial(holder_is_dead, live=LIVE_HOLDERS))
