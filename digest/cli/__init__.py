"""The ``digest`` command: parses arguments, runs one job, prints what happened.

Each command group lives in its own module and registers its own subcommands (``run``,
``editions``, ``review``, ``curate``, ``members``, ``sources``, ``service``,
``coordinators``); this module assembles them and is the single place where a
``DigestError`` becomes a one-line message and an exit code (0 done; 1 done with
operational failures; 2 refused input). ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from digest import __version__
from digest.cli import (
    bounces,
    coordinators,
    curate,
    database,
    editions,
    members,
    review,
    run,
    service,
    sources,
    worker,
)
from digest.cli.common import Handler, make_context
from digest.errors import ConfigError, DigestError

GROUPS = (run, editions, review, curate, members, sources, service, worker, coordinators,
          bounces, database)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options, then every group's subcommands."""
    parser = argparse.ArgumentParser(
        prog="digest",
        description="Collect items, publish theme feeds, and send digests and bulletins.",
        epilog="Exit codes: 0 done; 1 done with operational failures (a source down, a "
               "message refused), each reported; 2 refused input, one line each. "
               "`digest COMMAND --help` describes each command, with an example.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", metavar="FILE",
                        help="config file (default: $DIGEST_CONFIG or ./schedules.yaml)")
    parser.add_argument("--now", metavar="DATETIME",
                        help="run as if it were then (ISO 8601 with offset)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return parser


def dispatch(args: argparse.Namespace) -> int:
    """Run the chosen command's handler with a context; the config is read (and refused)
    before anything heavy is imported."""
    handler: Handler = args.handler
    ctx = make_context(args)
    try:
        return handler(ctx, args, sys.stdout)
    finally:
        ctx.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
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
