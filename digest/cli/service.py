"""The operator's view: ``serve`` (the long-running service) and ``status``."""

from __future__ import annotations

import argparse
from typing import TextIO

from digest.cli.common import Subcommands, add_command, install_stop_handler
from digest.context import Context


def register(commands: Subcommands) -> None:
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
    from digest import commands

    return commands.status(ctx, out)


def _serve(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.scheduler import Service
    from digest.web.server import serve

    install_stop_handler()
    return serve(ctx, out, services=[Service(ctx, out)])
