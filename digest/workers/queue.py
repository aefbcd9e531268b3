"""Queueing the jobs, each with its lock: one poll of a source at a time, one edition per
(digest, slot), one publish at a time, an edition's outbox split into ``send_jobs`` parts.

A lock keeps two jobs from running at once; a queueing lock keeps a second one from being
queued while the first still waits (the service's timers never pile up behind a slow
worker). A ``run --once`` tags its jobs with ``run`` and uses locks only: its jobs must
all be queued, to be waited for, even while the service's wait too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from digest.config import Settings
from digest.workers.app import (
    HOUSEKEEPING,
    MAKE_EDITION,
    POLL_SOURCE,
    PUBLISH_FEEDS,
    READ_BOUNCES,
    SEND_OUTBOX,
)

if TYPE_CHECKING:
    from procrastinate import App

# Higher first when several wait: what the others build on goes ahead.
_PRIORITY = {POLL_SOURCE: 30, READ_BOUNCES: 25, HOUSEKEEPING: 20, MAKE_EDITION: 10,
             PUBLISH_FEEDS: 5, SEND_OUTBOX: 0}


def slot_text(slot: datetime) -> str:
    """A slot as a job's argument and in its lock: UTC, ISO 8601, one spelling."""
    return slot.astimezone(UTC).isoformat()


class JobQueue:
    """Defers the tasks of an opened ``App``; each method returns the job's id, or None
    when the same job was already waiting (its queueing lock)."""

    def __init__(self, app: App, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def _defer(self, task: str, lock: str | None, queueing_lock: str | None,
               run: str | None, at: datetime | None = None, **args: Any) -> int | None:
        from procrastinate.exceptions import AlreadyEnqueued

        options: dict[str, Any] = {"lock": lock, "priority": _PRIORITY[task],
                                   "queueing_lock": queueing_lock if run is None else None}
        if at is not None:
            options["schedule_at"] = at
        try:
            return int(self.app.tasks[task].configure(**options).defer(**args, run=run))
        except AlreadyEnqueued:
            return None

    def poll(self, source_id: str, run: str | None = None) -> int | None:
        lock = f"source:{source_id}"
        return self._defer(POLL_SOURCE, lock, lock, run, source_id=source_id)

    def edition(self, digest_id: str, slot: datetime, run: str | None = None) -> int | None:
        lock = f"edition:{digest_id}:{slot_text(slot)}"
        return self._defer(MAKE_EDITION, lock, lock, run, digest_id=digest_id,
                           slot=slot_text(slot))

    def sends(self, edition_id: int, run: str | None = None) -> list[int]:
        """An edition's outbox as ``workers.send_jobs`` send jobs, working side by side."""
        parts = range(self.settings.workers.send_jobs)
        found = [self.send(edition_id, part, run) for part in parts]
        return [job for job in found if job is not None]

    def send(self, edition_id: int, part: int, run: str | None = None,
             at: datetime | None = None) -> int | None:
        """One part: a send job queued again by itself keeps its part's queueing lock, so
        each part waits at most once in the queue."""
        return self._defer(SEND_OUTBOX, None, f"send:{edition_id}:{part}", run, at,
                           edition_id=edition_id, part=part)

    def housekeeping(self, run: str | None = None) -> int | None:
        return self._defer(HOUSEKEEPING, "publish", "housekeeping", run)

    def publish_feeds(self, run: str | None = None) -> int | None:
        return self._defer(PUBLISH_FEEDS, "publish", "publish_feeds", run)

    def read_bounces(self, run: str | None = None) -> int | None:
        return self._defer(READ_BOUNCES, "bounces", "bounces", run)
