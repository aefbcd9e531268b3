"""The main job and its parts: ``run --once``, ``collect``, ``build``."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TextIO

from digest.cli.common import Subcommands, add_command, print_report, whole_number
from digest.config import Settings
from digest.errors import InputError
from digest.jobs.context import Context


def register(commands: Subcommands) -> None:
    """Add ``run``, ``collect`` and ``build``, each with its
    description and example."""
    run = add_command(
        commands, "run", "the main job: collect, publish, compose, deliver",
        """
        The main job, once: poll every source, publish the feeds, make and deliver every
        due digest edition and bulletin, resume sends left half-done, then print where
        every output went. `--once` is required: the job on its schedule is
        `digest serve`, so a `run` without it would be a mistake, not a loop. With
        `workers: {enabled: true}` it queues the same jobs for `digest worker`; `--wait`
        waits for them (polls, then housekeeping, then editions and their sends) and
        prints the same summary, with the same exit code (docs/deploy.md).
        """,
        "digest --config schedules.yaml run --once", _run)
    run.add_argument("--once", action="store_true", required=True,
                     help="run the main job once and exit (required; the scheduled "
                          "service is `digest serve`)")
    run.add_argument("--wait", action="store_true",
                     help="with workers enabled: wait for the queued jobs and print their "
                          "summary (without workers the run is done when it returns)")
    run.add_argument("--timeout", type=whole_number(1, 7 * 24 * 3600), metavar="SECONDS",
                     help="with --wait: stop waiting after SECONDS (the jobs left run all "
                          "the same; they are named and the exit code is 1); default: wait "
                          "until they are done")
    add_command(
        commands, "collect", "poll every source once",
        """
        Poll every source once and store what is new; print new, updated, duplicate and
        failed counts per source. Nothing is published or sent.
        """,
        "digest collect", _collect)
    build = add_command(
        commands, "build", "render next editions and bulletins, no sending",
        """
        Render, without storing or sending, the next edition of each digest and every
        bulletin (HTML email, text, PDF, web version and a sample .eml each), and publish
        the feeds. A bulletin that waits (not approved, held by its lint errors, or its
        `send_at` still to come) is rendered only into an `--out` folder that `digest
        serve` does not publish, and is in no feed.
        """,
        "digest --now 2019-03-18T08:00:00+01:00 build --out /tmp/preview", _build)
    build.add_argument("--out", metavar="DIR", help="folder for the rendered forms "
                       "(default: the output root's out/)")


def _run(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.jobs.run import run_once

    if args.timeout is not None and not args.wait:  # a cron line believed bounded
        raise InputError("run: --timeout bounds --wait, which is missing: without it "
                         "`run --once` does not wait for anything; add --wait or drop "
                         "--timeout")
    ctx.stop_on_sigterm()
    if ctx.settings.workers.enabled:
        from digest.workers.waiting import run_queued

        report = run_queued(ctx, args.wait, args.timeout)
    else:
        report = run_once(ctx)
    code = print_report(report, out)
    if report.to_review:
        print(review_hint(ctx.settings, len(report.to_review), invoked_as()), file=out)
    return code


def review_hint(settings: Settings, waiting: int, program: str) -> str:
    """The summary's last line when bulletins wait for a coordinator: the commands that
    open the console on this machine, with a coordinator of the config (an approver
    first), ready to paste (README, "Review the held bulletin")."""
    them = "it" if waiting == 1 else "them"
    listed = sorted(settings.coordinators, key=lambda c: c.role != "approver")
    if not listed:
        return (f"to review {them} in the console, add yourself to `coordinators:` in "
                f"{settings.config_path.name} (docs/console.md)")
    return (f"to review {them} in the console: `{program} coordinators link "
            f"{listed[0].email} --local && {program} serve --local`, then open the link "
            "it prints")


def invoked_as() -> str:
    """How this command was started, for a hint to paste: ``.venv/bin/digest`` under
    ``make run``, ``digest`` when it is found on the PATH or run as a module."""
    argv0 = sys.argv[0] if sys.argv else ""
    found = shutil.which("digest")
    if Path(argv0).name != "digest" or (found and Path(found).resolve() == Path(argv0).resolve()):
        return "digest"
    return argv0


def _collect(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.jobs.collect import collect_only

    return print_report(collect_only(ctx), out)


def _build(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.jobs.build import build

    target = Path(args.out) if args.out else ctx.settings.out_dir
    return print_report(build(ctx, target), out)
