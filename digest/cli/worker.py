"""``digest worker``: run the queued jobs (worker mode, docs/deploy.md)."""

from __future__ import annotations

import argparse
from typing import TextIO

from digest.cli.common import Subcommands, add_command, whole_number
from digest.errors import InputError
from digest.jobs.context import Context


def register(commands: Subcommands) -> None:
    """Add ``worker`` with its description and example."""
    worker = add_command(
        commands, "worker", "run queued jobs (workers.enabled: true)",
        """
        Run the jobs that `digest serve` and `digest run --once` queue in the database
        (polls, editions, send batches, housekeeping, feeds, bounces), `--concurrency` at
        a time, until SIGTERM or Ctrl-C: the jobs in hand finish (a send batch after the
        messages in flight, the rest queued for another worker), then it exits 0. Start
        any number, on any machine with the same config and database URL; the jobs of a
        worker that died are queued again. Needs `workers: {enabled: true}` and
        PostgreSQL (docs/deploy.md).
        """,
        "digest --config /etc/forum/schedules.yaml worker --concurrency 2", _worker)
    worker.add_argument("--concurrency", type=whole_number(1, 64), default=1, metavar="N",
                        help="jobs run at once by this worker (default 1)")


def _worker(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    if not ctx.settings.workers.enabled:
        raise InputError(f"{ctx.settings.config_path}: workers.enabled is false: no job is "
                         "queued for a worker; set `workers: {enabled: true}` (docs/deploy.md)")
    from digest.workers.worker import run_worker

    return run_worker(ctx, args.concurrency, out)
