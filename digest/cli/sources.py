"""Managing sources: ``sources import-opml``, ``sources enable``."""

from __future__ import annotations

import argparse
from typing import TextIO

from digest.cli.common import Subcommands, add_command
from digest.context import Context


def register(commands: Subcommands) -> None:
    group = add_command(
        commands, "sources", "import feed sources, re-enable a source",
        """
        Add the feeds of an OPML list to the config, or poll again a source that was
        disabled. `digest sources ACTION --help` describes each action.
        """,
        "digest sources enable news")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    opml = add_command(
        actions, "import-opml", "add the feeds of an OPML file to the config",
        """
        Add the feeds of an OPML list that the config lacks to schedules.yaml, as a marked
        block after the last source; the result is validated before it is written, the
        file's comments are kept, and feeds already configured (by URL) are left out.
        """,
        "digest sources import-opml network-feeds.opml", _import_opml)
    opml.add_argument("file")
    enabled = add_command(
        actions, "enable", "poll a source disabled by a 410 again",
        """
        Poll again a source that was disabled because its server answered "410 Gone";
        its stored state is reset, so the next poll is a full one.
        """,
        "digest sources enable news", _enable)
    enabled.add_argument("source_id", metavar="ID")


def _import_opml(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest import source_commands

    return source_commands.import_opml(ctx, args.file, out)


def _enable(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest import source_commands

    return source_commands.enable(ctx, args.source_id, out)
