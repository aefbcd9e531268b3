"""Managing members: ``subscribers import|add|remove|list``."""

from __future__ import annotations

import argparse
from typing import TextIO

from digest.cli.common import Subcommands, add_command
from digest.context import Context


def register(commands: Subcommands) -> None:
    group = add_command(
        commands, "subscribers", "manage subscribers",
        """
        Add, import, unsubscribe and list the members who receive the digests and
        bulletins. `digest subscribers ACTION --help` describes each action.
        """,
        "digest subscribers list")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    imported = add_command(
        actions, "import", "import members from CSV",
        """
        Import members from a UTF-8 CSV file with the header
        `email,name,language,digests,themes`: `language` a BCP 47 tag (en, fr, de-AT;
        empty: the site's), `digests` and `themes` lists separated by `;` (empty digests:
        every digest; empty themes: every theme). Known addresses are left as they are;
        each bad row is reported with its line and left out, the others are imported
        (exit 2 when a row was refused: refused input). Limits: 16 MB, 100 000 rows,
        1 000 characters a value (docs/configuration.md, "Limits").
        """,
        """
        digest subscribers import members.csv
        (members.csv:  email,name,language,digests,themes
                       anna@example.org,Anna,fr,weekly,cooperation;culture)
        """, _subscribers)
    imported.add_argument("file", help="the CSV file (columns: email,name,language,digests,"
                          "themes)")
    added = add_command(
        actions, "add", "add one member",
        """
        Add one member. Without --digests the member receives every digest; without
        --themes, every theme.
        """,
        "digest subscribers add anna@example.org --name Anna --language fr --themes culture",
        _subscribers)
    added.add_argument("email")
    added.add_argument("--name", default="")
    added.add_argument("--language", help="a BCP 47 tag (default: the site's language)")
    added.add_argument("--digests", default="", help="semicolon-separated digest ids")
    added.add_argument("--themes", default="", help="semicolon-separated theme slugs")
    removed = add_command(
        actions, "remove", "unsubscribe one member",
        """
        Unsubscribe one member: nothing more is sent to the address, including messages
        of an edition still being sent.
        """,
        "digest subscribers remove anna@example.org", _subscribers)
    removed.add_argument("email")
    add_command(
        actions, "list", "list members and their state",
        """
        List every member with their language, digests, themes and state (active,
        unsubscribed, bounced).
        """,
        "digest subscribers list", _subscribers)


def _subscribers(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest import commands

    return commands.subscribers_command(ctx, args, out)
