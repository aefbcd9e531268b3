"""Managing members: ``subscribers import|add|remove|list``, each action registered with
its ``--help`` and carried out here on the store.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from digest.cli import member_links
from digest.cli.common import Subcommands, add_command
from digest.errors import InputError
from digest.jobs.context import Context
from digest.models import SubscriberStatus
from digest.store import subscribers


def register(commands: Subcommands) -> None:
    """Add ``subscribers`` and its actions, each with its
    description and example."""
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
        every digest; empty themes: every theme); an optional `status` column (active,
        unsubscribed, bounced; empty: active) sets a new member's state, as the console's
        export writes it. Known addresses are left as they are;
        each bad row is reported with its line and left out, the others are imported
        (exit 2 when a row was refused: refused input). Limits: 16 MB, 100 000 rows,
        1 000 characters a value (docs/configuration.md, "Limits").
        """,
        """
        digest subscribers import members.csv
        (members.csv:  email,name,language,digests,themes
                       anna@example.org,Anna,fr,weekly,cooperation;culture)
        """, _import)
    imported.add_argument("file", help="the CSV file (columns: email,name,language,digests,"
                          "themes)")
    added = add_command(
        actions, "add", "add one member",
        """
        Add one member. Without --digests the member receives every digest; without
        --themes, every theme.
        """,
        "digest subscribers add anna@example.org --name Anna --language fr --themes culture",
        _add)
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
        "digest subscribers remove anna@example.org", _remove)
    removed.add_argument("email")
    add_command(
        actions, "list", "list members and their state",
        """
        List every member with their language, digests, themes and state (active,
        unsubscribed, bounced).
        """,
        "digest subscribers list", _list)
    member_links.add_link(actions)


def _import(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    """``digest subscribers import FILE``: exit 2 when a row was refused (refused input)."""
    settings = ctx.settings
    with ctx.db.transaction() as connection:
        result = subscribers.import_csv(
            connection, Path(args.file), ctx.clock.now(), settings.site.language,
            [d.id for d in settings.digests], settings.themes)
    print(f"{result.added} added, {result.known} already known", file=out)
    for problem in result.problems:
        print(f"problem: {problem}", file=out)
    return 2 if result.problems else 0


def _add(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    """``digest subscribers add EMAIL``: one member, checked as an imported row is."""
    settings = ctx.settings
    rules = subscribers.MemberRules.of(settings.site.language,
                                       [d.id for d in settings.digests], settings.themes)
    member = subscribers.member_from_values(args.email, args.name, args.language or "",
                                            args.digests, args.themes, rules)
    with ctx.db.transaction() as connection:
        added = subscribers.add(connection, member, ctx.clock.now())
    print(f"{args.email}: {'added' if added else 'already known'}", file=out)
    return 0


def _remove(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    """``digest subscribers remove EMAIL``: refused input when the address is unknown."""
    with ctx.db.transaction() as connection:
        known = subscribers.set_status(connection, args.email, SubscriberStatus.UNSUBSCRIBED)
    if not known:
        raise InputError(f"no subscriber {args.email!r}")
    print(f"{args.email}: unsubscribed", file=out)
    return 0


def _list(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    """``digest subscribers list``: one tab-separated line per member."""
    with ctx.db.transaction() as connection:
        members = subscribers.all_members(connection)
    for member in members:
        shown = ";".join(member.themes) or "all themes"
        print(f"{member.email}\t{member.status.value}\t{member.language}\t"
              f"{';'.join(member.digests)}\t{shown}\t{member.name}", file=out)
    return 0
