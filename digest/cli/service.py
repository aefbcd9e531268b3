"""The operator's view: ``serve`` (the long-running service) and ``status`` (what the
store says about sources, jobs, editions and their deliveries)."""

from __future__ import annotations

import argparse
from typing import TextIO

from digest.cli.common import Subcommands, add_command
from digest.cli.sources import health_lines
from digest.dates import console_stamp
from digest.jobs.context import Context
from digest.store import deliveries, editions, items, runs, sources


def register(commands: Subcommands) -> None:
    """Add ``status`` and ``serve``, each with its
    description and example."""
    add_command(
        commands, "status", "sources' health, next runs, recent editions",
        """
        Print the sources' health (failing first), every job's next and last run, and the
        recent editions with their delivery counts and failures.
        """,
        "digest status", _status)
    add_command(
        commands, "serve", "the long-running service: scheduler and web app",
        """
        The long-running service: polls the sources at their `every`, makes any digest
        slot missed while it was down (within the digest's `grace`), runs every job on its
        schedule, and serves the members' web app (one-click unsubscribe, preferences,
        archive, feeds) on web.host:web.port. A second one against the same database
        refuses to start. SIGTERM or Ctrl-C finishes the message in flight and exits 0.
        """,
        "digest --config /etc/forum/schedules.yaml serve", _serve)


def _status(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    return status(ctx, out)


def _serve(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.scheduler import Service
    from digest.web.server import serve

    ctx.stop_on_sigterm()
    return serve(ctx, out, services=[Service(ctx, out)])


def status(ctx: Context, out: TextIO) -> int:
    """Sources' health, next scheduled runs, recent editions and their deliveries."""
    from digest.scheduler import outlook  # APScheduler: loaded for the commands using it

    zone = ctx.settings.site.zone
    now = ctx.clock.now()
    with ctx.db.transaction() as connection:
        health = sources.health(connection)
        recent = editions.recent(connection)
        counts = {row.id: deliveries.counts(connection, row.id) for row in recent}
        failed = {row.id: deliveries.failures(connection, row.id) for row in recent}
        problems = {row.id: editions.problems(connection, row.id) for row in recent}
        retry_at = {row.id: deliveries.next_attempt(connection, row.id, now) for row in recent}
        stored = items.count_items(connection)
        last_runs = runs.last_runs(connection)
    print(f"items stored: {stored}", file=out)
    print("sources:", file=out)
    for line in health_lines(ctx.settings, health, zone):
        print(line, file=out)
    print(f"jobs (next run, last run; {ctx.settings.site.timezone}):", file=out)
    for job in outlook(ctx.settings, now, last_runs):
        upcoming = console_stamp(job.next_run, zone, weekday=True) if job.next_run \
            else "none"
        previous = "never run"
        if job.last is not None:
            previous = f"{console_stamp(job.last.started_at, zone)} {job.last.outcome}"
            if job.last.detail:
                previous += f": {job.last.detail[:160]}"
        print(f"  {job.id}: next {upcoming}; last {previous}", file=out)
    print("editions:", file=out)
    for row in recent:
        tally = ", ".join(f"{n} {state}" for state, n in sorted(counts[row.id].items()))
        print(f"  {row.label} [{row.status}] {row.title}: {tally or 'no deliveries'}", file=out)
        found = problems[row.id]
        if row.status == editions.FAILED:
            print(f"    cannot be rendered: {found.failure or 'no reason recorded'}", file=out)
            print(f"    (after a fix, the next run or `digest send {row.label}` tries again)",
                  file=out)
        for left in found.left_out:
            print(f"    left out: item {left.item_key} from source {left.source_id!r} "
                  f"(it cannot be rendered): {left.reason}", file=out)
        if (retry := retry_at[row.id]) is not None:
            print(f"    deferred messages are tried again from "
                  f"{console_stamp(retry, zone)}", file=out)
        for failure in failed[row.id]:
            print(f"    failed: {failure.email} ({failure.attempts} attempt"
                  f"{'s' if failure.attempts != 1 else ''}): {failure.error}", file=out)
        if failed[row.id]:
            print(f"    (queue them again with `digest send {row.label} --retry-failed`)",
                  file=out)
    return 0
