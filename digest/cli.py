"""The ``digest`` command: parses arguments, runs one job, prints what happened.

This is the single place where a ``DigestError`` becomes a one-line message and an exit
code (0 done; 1 done with operational failures; 2 refused input). ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from digest import __version__
from digest.clock import Clock, SystemClock, parse_now
from digest.config import Environment, check_environment, config_path_from, load_settings
from digest.context import Context
from digest.errors import ConfigError, DigestError, InputError
from digest.models import RunReport

FORMATS = ("html", "text", "pdf", "mjml", "eml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest",
        description="Collect items, publish theme feeds, and send digests and bulletins.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", metavar="FILE",
                        help="config file (default: $DIGEST_CONFIG or ./schedules.yaml)")
    parser.add_argument("--now", metavar="DATETIME",
                        help="run as if it were then (ISO 8601 with offset)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="the main job: collect, publish, compose, deliver")
    run.add_argument("--once", action="store_true", required=True,
                     help="run the main job once and exit")
    commands.add_parser("collect", help="poll every source once")
    build = commands.add_parser("build", help="render next editions and bulletins, no sending")
    build.add_argument("--out", metavar="DIR", help="folder for the rendered forms "
                       "(default: the output root's out/)")
    preview = commands.add_parser("preview", help="render one digest or bulletin and lint it")
    preview.add_argument("target", help="a digest id or a bulletin Markdown file")
    preview.add_argument("--format", choices=FORMATS, help="write this one form")
    preview.add_argument("--out", metavar="FILE", help="where to write it (default: stdout)")
    preview.add_argument("--strict", action="store_true", help="warnings fail (exit 1)")
    send = commands.add_parser("send", help="deliver an edition, or one test copy")
    send.add_argument("edition", help="edition label such as weekly/3")
    send.add_argument("--test", metavar="ADDRESS", help="send one [TEST] copy to ADDRESS only")
    send.add_argument("--retry-failed", action="store_true",
                      help="queue the edition's failed messages again, then send")
    approve = commands.add_parser("approve", help="approve a draft edition for sending")
    approve.add_argument("edition", help="edition label such as weekly/3")
    members = commands.add_parser("subscribers", help="manage subscribers")
    member_commands = members.add_subparsers(dest="action", required=True, metavar="ACTION")
    imported = member_commands.add_parser("import", help="import members from CSV")
    imported.add_argument("file")
    added = member_commands.add_parser("add", help="add one member")
    added.add_argument("email")
    added.add_argument("--name", default="")
    added.add_argument("--language")
    added.add_argument("--digests", default="", help="semicolon-separated digest ids")
    added.add_argument("--themes", default="", help="semicolon-separated theme slugs")
    removed = member_commands.add_parser("remove", help="unsubscribe one member")
    removed.add_argument("email")
    member_commands.add_parser("list", help="list members and their state")
    commands.add_parser("status", help="sources' health, next runs, recent editions")
    feeds = commands.add_parser("sources", help="import feed sources, re-enable a source")
    feed_commands = feeds.add_subparsers(dest="action", required=True, metavar="ACTION")
    opml = feed_commands.add_parser("import-opml", help="add the feeds of an OPML file to "
                                    "the config (a marked block in sources:)")
    opml.add_argument("file")
    enabled = feed_commands.add_parser("enable", help="poll a source disabled by a 410 again")
    enabled.add_argument("source_id", metavar="ID")
    commands.add_parser("serve", help="the long-running service: the scheduler (sources, "
                        "feeds, digests on their cron) and the web app on web.host:web.port")
    return parser


def print_report(report: RunReport, out: TextIO) -> None:
    """The run summary: per source counts, editions, and where every output went."""
    for source in report.sources:
        if source.error:
            print(f"source {source.source_id}: FAILED: {source.error}", file=out)
        else:
            note = f" ({source.note})" if source.note else ""
            print(f"source {source.source_id}: {source.new} new, {source.updated} updated, "
                  f"{source.duplicate} duplicate{note}", file=out)
    for line in report.editions:
        print(f"edition {line}", file=out)
    for label, path in report.outputs:
        print(f"  {label}: {path}", file=out)
    if report.outputs or report.editions:
        print(f"messages sent: {report.sent}", file=out)
    for failure in report.failures:
        print(f"problem: {failure}", file=out)


def _context(args: argparse.Namespace) -> Context:
    clock: Clock = parse_now(args.now) if args.now else SystemClock()
    settings = load_settings(config_path_from(args.config))
    env = Environment.read()
    check_environment(settings, env)
    return Context(settings=settings, env=env, clock=clock)


def dispatch(args: argparse.Namespace, out: TextIO) -> int:
    ctx = _context(args)  # the config is refused before anything heavy is imported
    from digest import commands

    if args.command in ("run", "send", "serve"):
        from digest.sending import install_stop_handler

        install_stop_handler()  # SIGTERM: finish the messages in flight, keep the rest pending
    try:
        if args.command == "run":
            from digest.pipeline import run_once

            report = run_once(ctx)
        elif args.command == "collect":
            from digest.pipeline import collect_only

            report = collect_only(ctx)
        elif args.command == "build":
            from digest.pipeline import build

            target = Path(args.out) if args.out else ctx.settings.out_dir
            report = build(ctx, target)
        elif args.command == "preview":
            return commands.preview(ctx, args.target, args.format, args.out, args.strict, out)
        elif args.command == "send":
            return commands.send(ctx, args.edition, args.test, out, args.retry_failed)
        elif args.command == "approve":
            return commands.approve(ctx, args.edition, out)
        elif args.command == "subscribers":
            return commands.subscribers_command(ctx, args, out)
        elif args.command == "sources":
            from digest import source_commands

            if args.action == "import-opml":
                return source_commands.import_opml(ctx, args.file, out)
            return source_commands.enable(ctx, args.source_id, out)
        elif args.command == "status":
            return commands.status(ctx, out)
        elif args.command == "serve":
            from digest.scheduler import Service
            from digest.web.server import serve

            return serve(ctx, out, services=[Service(ctx, out)])
        else:  # pragma: no cover - argparse refuses unknown commands
            raise InputError(f"unknown command {args.command}")
        print_report(report, out)
        return 1 if report.failed else 0
    finally:
        ctx.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return dispatch(args, sys.stdout)
    except ConfigError as exc:
        if args.debug:
            raise
        print(f"digest: refused config ({len(exc.problems)} problem"
              f"{'s' if len(exc.problems) != 1 else ''}):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return exc.exit_code
    except DigestError as exc:
        if args.debug:
            raise
        print(f"digest: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a folder that cannot be written, a disk that is full...
        if args.debug:
            raise
        where = f" {exc.filename}" if exc.filename else ""
        print(f"digest: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digest: interrupted", file=sys.stderr)
        return 130
