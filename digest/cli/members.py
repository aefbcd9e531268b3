"""Managing members: ``subscribers import|add|remove|list|export|erase``, each action
registered with its ``--help`` and carried out here on the store.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from digest.cli import member_links
from digest.cli.common import Subcommands, add_command
from digest.errors import InputError
from digest.files import write_atomic
from digest.models import SubscriberStatus

if TYPE_CHECKING:
    from digest.jobs.context import Context


def register(commands: Subcommands) -> None:
    """Add ``subscribers`` and its actions, each with its
    description and example."""
    group = add_command(
        commands, "subscribers", "manage subscribers",
        """
        Add, import, unsubscribe, list, export and erase the members who receive the
        digests and bulletins. `digest subscribers ACTION --help` describes each action.
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
    exported = add_command(
        actions, "export", "a member's data as JSON",
        """
        Print everything the store keeps about one member as JSON (what their preferences
        page's "Download my data" gives them): the member record, their consents, every
        delivery with the mail server's answer, and the bounce reports about them.
        """,
        "digest subscribers export anna@example.org --output anna.json", _export)
    exported.add_argument("email")
    exported.add_argument("--output", metavar="FILE",
                          help="write the JSON to FILE (readable by its owner only)")
    erased = add_command(
        actions, "erase", "erase a member for good",
        """
        Erase one member at their request: their record, consents, deliveries and bounce
        reports are deleted (each edition keeps only how many messages it went to) and the
        address can never receive mail again, by import or test, unless its owner
        subscribes anew. Irreversible: asks first on a terminal; elsewhere give --yes.
        """,
        "digest subscribers erase anna@example.org --yes", _erase)
    erased.add_argument("email")
    erased.add_argument("--yes", action="store_true", help="do not ask: erase")
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
    from digest.store import subscribers  # SQLAlchemy: with the store, not the command line

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
    """``digest subscribers add EMAIL``: one member, checked as an imported row is (an
    erased address is refused)."""
    from digest.store import subscribers

    settings = ctx.settings
    rules = subscribers.MemberRules.of(settings.site.language,
                                       [d.id for d in settings.digests], settings.themes)
    member = subscribers.member_from_values(args.email, args.name, args.language or "",
                                            args.digests, args.themes, rules)
    with ctx.db.transaction() as connection:
        subscribers.refuse_erased(connection, member.email)
        added = subscribers.add(connection, member, ctx.clock.now())
    print(f"{args.email}: {'added' if added else 'already known'}", file=out)
    return 0


def _remove(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    """``digest subscribers remove EMAIL``: refused input when the address is unknown."""
    from digest.store import subscribers

    with ctx.db.transaction() as connection:
        known = subscribers.set_status(connection, args.email, SubscriberStatus.UNSUBSCRIBED)
    if not known:
        raise InputError(f"no subscriber {args.email!r}")
    print(f"{args.email}: unsubscribed", file=out)
    return 0


def _list(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    """``digest subscribers list``: one tab-separated line per member."""
    from digest.store import subscribers

    with ctx.db.transaction() as connection:
        members = subscribers.all_members(connection)
    for member in members:
        shown = ";".join(member.themes) or "all themes"
        print(f"{member.email}\t{member.status.value}\t{member.language}\t"
              f"{';'.join(member.digests)}\t{shown}\t{member.name}", file=out)
    return 0


def _known(ctx: Context, email: str) -> int:
    """The id of the member with this address, or refused input (exit 2, one line)."""
    from digest.jobs import member_data

    found = member_data.member_id(ctx, email)
    if found is None:
        raise InputError(f"no subscriber {email!r}")
    return found


def _export(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    """``digest subscribers export EMAIL [--output FILE]``."""
    from digest.jobs import member_data

    data = member_data.export_member(ctx, _known(ctx, args.email))
    if data is None:  # erased between the two reads
        raise InputError(f"no subscriber {args.email!r}")
    text = member_data.as_json(data)
    if args.output:
        path = write_atomic(Path(args.output), text, mode=0o600)
        print(f"{args.email}: data written to {path}", file=out)
    else:
        out.write(text)
    return 0


def _erase(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    """``digest subscribers erase EMAIL [--yes]``: asks on a terminal, refused elsewhere
    without ``--yes`` (exit 2)."""
    from digest.jobs import member_data

    member_id = _known(ctx, args.email)
    if not args.yes:
        if not sys.stdin.isatty():
            raise InputError(f"erasing {args.email} cannot be undone: add --yes to confirm")
        answer = input(f"Erase {args.email} and everything kept about them, for good? "
                       "Type yes to confirm: ")
        if answer.strip().lower() != "yes":
            print(f"{args.email}: not erased", file=out)
            return 0
    done = member_data.erase_member(ctx, member_id, "cli")
    if done is None:
        raise InputError(f"no subscriber {args.email!r}")
    print(f"{done.erased.email}: erased ({done.erased.deliveries} deliveries kept as counts, "
          f"{done.files_removed} outbox files removed); nothing will be sent to it again "
          "unless its owner subscribes anew", file=out)
    return 0
