"""The operator's view: ``serve`` (the long-running service) and ``status`` (what the
store says about sources, jobs, editions and their deliveries, and each bulletin's state)."""

from __future__ import annotations

import argparse
from datetime import tzinfo
from typing import TYPE_CHECKING, TextIO

from digest.cli.common import Subcommands, add_command
from digest.cli.sources import health_lines
from digest.config.local import served_locally
from digest.config.workers import check_shared_key
from digest.dates import console_stamp
from digest.models import EditionStatus, RunReport
from digest.safetext import safe_line

if TYPE_CHECKING:
    from digest.jobs.context import Context
    from digest.jobs.status import EditionState
    from digest.scheduler import JobOutlook
    from digest.store.job_queue import QueueState


def register(commands: Subcommands) -> None:
    """Add ``status`` and ``serve``, each with its
    description and example."""
    add_command(
        commands, "status", "sources' health, next runs, recent editions",
        """
        Print the sources' health (failing first), every job's next and last run, and the
        recent editions with their delivery counts and failures; with workers, the queue
        (jobs per task and state, retries, live and stalled workers).
        """,
        "digest status", _status)
    serve = add_command(
        commands, "serve", "the long-running service: scheduler and web app",
        """
        The long-running service: polls the sources at their `every`, makes any digest
        slot missed while it was down (within the digest's `grace`), runs every job on its
        schedule, and serves the members' web app (one-click unsubscribe, preferences,
        archive, feeds) on web.host:web.port. A second one against the same database
        refuses to start. SIGTERM or Ctrl-C finishes the message in flight and exits 0.
        With `workers: {enabled: true}` the timers queue the jobs for `digest worker`
        instead of running them (docs/deploy.md).
        With --local: only the web app and the coordinators' console, on this machine
        (http://127.0.0.1:web.port, links made for that address), to try the console;
        nothing is collected, published or sent (docs/console.md, "On this machine").
        """,
        "digest --config /etc/forum/schedules.yaml serve", _serve)
    serve.add_argument("--local", action="store_true",
                       help="serve only the web app and console, at http://127.0.0.1:"
                            "web.port, with links to that address; run no job")


def _status(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    return status(ctx, out)


def _serve(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.scheduler import Service
    from digest.web.server import serve

    ctx.stop_on_sigterm()
    ctx.db  # noqa: B018 (opened now: a database it cannot use is refused before serving)
    if args.local:
        ctx.settings = served_locally(ctx.settings)
        return serve(ctx, out)
    check_shared_key(ctx.settings.workers, ctx.env.secret_key, "serve")
    return serve(ctx, out, services=[Service(ctx, out)])


def status(ctx: Context, out: TextIO) -> int:
    """Sources' health, next scheduled runs, recent editions and their deliveries."""
    from digest.jobs.status import store_status
    from digest.scheduler import outlook  # APScheduler: loaded for the commands using it

    zone = ctx.settings.site.zone
    state = store_status(ctx)
    print(f"items stored: {state.items_stored}", file=out)
    print("sources:", file=out)
    for line in health_lines(ctx.settings, state.health, zone):
        print(line, file=out)
    print(f"jobs (next run, last run; {ctx.settings.site.timezone}):", file=out)
    for job in outlook(ctx.settings, ctx.clock.now(), state.last_runs):
        print(_job_line(job, zone), file=out)
    print("editions:", file=out)
    for edition in state.editions:
        for line in _edition_lines(edition, zone):
            print(line, file=out)
    _bulletin_lines(ctx, out)
    if ctx.settings.bounces is not None or any(state.bounces.values()):
        found = state.bounces
        print(f"bounces: {found['hard']} hard, {found['soft']} soft, {found['complaint']} "
              f"complaints, {found['unmatched']} unmatched; members bounced: "
              f"{state.members_bounced}", file=out)
    if state.queue is not None:
        for line in queue_lines(state.queue, zone):
            print(line, file=out)
    elif ctx.settings.workers.enabled:  # PostgreSQL (SQLite is refused), its queue lost
        print("queue: MISSING: procrastinate's tables are not in the database (revision 0003 "
              "makes them): no job can be queued or run; restore the database from a backup",
              file=out)
        return 1
    return 0


_SHOWN_STATES = (("todo", "queued"), ("doing", "running"), ("succeeded", "done"),
                 ("failed", "failed"))


def queue_lines(queue: QueueState, zone: tzinfo) -> list[str]:
    """The workers' queue: per task, its jobs by state and how many were tried again;
    then the workers whose heartbeat stopped, and the jobs they left running."""
    from digest.store.job_queue import TaskCounts
    from digest.workers.app import TASKS

    counted = {task.task: task for task in queue.tasks}
    lines = [f"queue (procrastinate_jobs; {queue.workers} worker"
             f"{'s' if queue.workers != 1 else ''} alive):"]
    for name in (*TASKS, *sorted(set(counted) - set(TASKS))):
        found = counted.get(name, TaskCounts(name))
        states = ", ".join(f"{found.states.get(state, 0)} {shown}"
                           for state, shown in _SHOWN_STATES)
        others = ", ".join(f"{n} {state}" for state, n in sorted(found.states.items())
                           if state not in dict(_SHOWN_STATES))
        # a task name is whatever was written to the queue: one line, no control codes
        lines.append(f"  {safe_line(name)}: {states}{', ' + others if others else ''}; "
                     f"{found.retried} retried")
    lines += [f"  stalled worker {w.id}: no heartbeat since "
              f"{console_stamp(w.last_heartbeat, zone)}, {w.running} job"
              f"{'s' if w.running != 1 else ''} left running" for w in queue.stalled]
    if queue.orphaned:
        lines.append(f"  {queue.orphaned} job{'s' if queue.orphaned != 1 else ''} of dead "
                     "workers: queued again by the next live worker within seconds")
    return lines


def _bulletin_lines(ctx: Context, out: TextIO) -> None:
    """Each bulletin of the folder: its state, why, and its lint errors at their lines
    (rendered to be linted: the rendering libraries load only when there are bulletins)."""
    if ctx.settings.bulletins is None:
        return
    from digest.jobs.review import bulletin_states

    report = RunReport()
    print("bulletins:", file=out)
    for found in bulletin_states(ctx, report):
        print(f"  {found.target} [{found.state}]: {found.why(ctx)}", file=out)
        if not found.published:
            for problem in found.errors:
                print(f"    {problem}", file=out)
    for failure in report.failures:
        print(f"  problem: {failure}", file=out)


def _job_line(job: JobOutlook, zone: tzinfo) -> str:
    """A job's next run and how its last run went."""
    upcoming = console_stamp(job.next_run, zone, weekday=True) if job.next_run else "none"
    previous = "never run"
    if job.last is not None:
        previous = f"{console_stamp(job.last.started_at, zone)} {job.last.outcome}"
        if job.last.detail:
            previous += f": {job.last.detail[:160]}"
    return f"  {job.id}: next {upcoming}; last {previous}"


def _edition_lines(edition: EditionState, zone: tzinfo) -> list[str]:
    """An edition's deliveries by state, then what the operator may have to act on."""
    row, found = edition.row, edition.problems
    tally = ", ".join(f"{n} {state}" for state, n in sorted(edition.counts.items()))
    lines = [f"  {row.label} [{row.status}] {row.title}: {tally or 'no deliveries'}"]
    if row.status == EditionStatus.FAILED:
        lines += [f"    cannot be rendered: {found.failure or 'no reason recorded'}",
                  f"    (after a fix, the next run or `digest send {row.label}` tries again)"]
    lines += [f"    left out: item {left.item_key} from source {left.source_id!r} "
              f"(it cannot be rendered): {left.reason}" for left in found.left_out]
    if edition.retry_at is not None:
        lines.append(f"    deferred messages are tried again from "
                     f"{console_stamp(edition.retry_at, zone)}")
    if edition.deferral is not None:
        rows, error = edition.deferral
        lines.append(f"    deferred: {rows} message{'s' if rows != 1 else ''}; last: {error}")
    lines += [f"    failed: {failure.email} ({failure.attempts} attempt"
              f"{'s' if failure.attempts != 1 else ''}): {failure.error}"
              for failure in edition.failed]
    if edition.failed:
        lines.append(f"    (queue them again with `digest send {row.label} --retry-failed`)")
    return lines
