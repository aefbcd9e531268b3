"""What every command group shares: the handler type, the context, how a subcommand is
described (a paragraph and an example in its ``--help``), and the run summary."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from typing import Any, TextIO

from digest.clock import Clock, SystemClock, parse_now
from digest.config import (
    Environment,
    check_environment,
    config_path_from,
    database_url,
    load_settings,
)
from digest.config.workers import check_workers_database
from digest.jobs.context import Context
from digest.models import RunReport

Handler = Callable[[Context, argparse.Namespace, TextIO], int]
Subcommands = Any  # argparse's _SubParsersAction, private in typeshed


def make_context(args: argparse.Namespace) -> Context:
    """Settings, environment and clock for one command; a bad config is refused here, and
    so are workers over SQLite (one line, exit 2)."""
    clock: Clock = parse_now(args.now) if args.now else SystemClock()
    settings = load_settings(config_path_from(args.config))
    env = Environment.read()
    check_environment(settings, env)
    check_workers_database(settings.workers, database_url(settings, env),
                           str(settings.config_path))
    return Context(settings=settings, env=env, clock=clock)


def add_command(commands: Subcommands, name: str, summary: str, description: str,
                example: str, handler: Handler | None = None) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` says what it does in a paragraph and shows an
    example; ``summary`` is its line in the list of commands."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=textwrap.dedent(description).strip(),
        epilog="example:\n" + textwrap.indent(textwrap.dedent(example).strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def print_report(report: RunReport, out: TextIO) -> int:
    """The run summary: per source counts, editions, where every output went; the exit
    code (1 when anything failed)."""
    for source in report.sources:
        if source.error:
            print(f"source {source.source_id}: FAILED: {source.error}", file=out)
        else:
            note = f" ({source.note})" if source.note else ""
            print(f"source {source.source_id}: {source.new} new, {source.updated} updated, "
                  f"{source.duplicate} duplicate{note}", file=out)
    for line in report.editions:
        print(f"edition {line}", file=out)
    for line in report.notes:
        print(line, file=out)
    for label, path in report.outputs:
        print(f"  {label}: {path}", file=out)
    if report.outputs or report.editions:
        print(f"messages sent: {report.sent}", file=out)
    for failure in report.failures:
        print(f"problem: {failure}", file=out)
    return 1 if report.failed else 0


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type for a count from ``low`` to ``high``: ASCII digits only, as
    everywhere in the config (``int`` alone reads ``٣`` or ``３`` as 3)."""
    def parse(text: str) -> int:
        plain = text.strip(" ")
        value = int(plain) if plain.isascii() and plain.isdigit() else low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low} to {high}, got {text!r}")
        return value
    return parse
