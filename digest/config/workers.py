"""The ``workers:`` section: whether jobs run in this process or on procrastinate workers.

Off by default: one process collects, renders and sends, on SQLite or PostgreSQL, as it
always did. On, ``digest serve`` and ``digest run --once`` only queue jobs in the database
and any number of ``digest worker`` processes, on any machine with the same config and
database URL, run them (docs/deploy.md). The queue lives in PostgreSQL (procrastinate), so
workers need it: ``check_workers_database`` refuses SQLite before any command runs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from digest.errors import DigestError

HEARTBEAT = 5.0  # seconds between a worker's heartbeats
STALLED_AFTER = 20.0  # seconds without a heartbeat: the worker is taken for dead


class WorkersSettings(BaseModel):
    """``enabled``; ``send_jobs``: how many send jobs an edition's outbox is split into
    (how many workers send one edition at once); ``batch``: how many messages one send job
    hands over before it queues its own continuation (so a stop or a crash costs little,
    and a new worker joins in within one batch)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=False, strict=True)
    send_jobs: int = Field(default=4, ge=1, le=64, strict=True)
    batch: int = Field(default=500, ge=1, le=100_000, strict=True)


class WorkersDatabaseError(DigestError):
    """Workers asked for on a database that cannot hold their queue, or without the key
    every machine must share (exit 2)."""


def check_workers_database(workers: WorkersSettings, url: str, config: str) -> None:
    """Refuse, in one line naming the key and the URL, workers over SQLite: its file
    cannot be shared between machines, and procrastinate's queue needs PostgreSQL."""
    if workers.enabled and not url.startswith("postgresql://"):
        raise WorkersDatabaseError(
            f"{config}: workers.enabled is true but the database is {url}: workers need "
            "PostgreSQL (DIGEST_DATABASE_URL=postgresql://... or site.database); set "
            "workers.enabled: false to run everything in one process")


def check_shared_key(workers: WorkersSettings, secret_key: str | None, command: str) -> None:
    """Refuse ``digest serve`` and ``digest worker`` with workers but no
    ``DIGEST_SECRET_KEY``: each machine would sign links and Message-IDs with a
    ``var/secret_key`` of its own (or race to make the shared one), and a member's link
    signed by one would be refused by another."""
    if workers.enabled and not secret_key:
        raise WorkersDatabaseError(
            f"{command}: DIGEST_SECRET_KEY is not set: with workers.enabled, `digest serve` "
            "and every `digest worker` need the same key in their environment (links and "
            "Message-IDs are signed with it; docs/deploy.md)")
