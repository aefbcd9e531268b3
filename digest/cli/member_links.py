"""``digest subscribers link EMAIL``: a member's own links, as their emails carry them.

An operator opens a member's pages as the member sees them (in the member's language), or
sends them their preferences link when they lost their emails; ``make run`` prints the
sample's French member's, to see the pages in French (README). The links are signed with
the site's key, so they work on the ``digest serve`` of this store; ``--local`` makes them
point to ``digest serve --local`` on this machine.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from digest.cli.common import Subcommands, add_command
from digest.config.local import served_locally
from digest.errors import InputError
from digest.links import preferences_url, unsubscribe_url
from digest.tokens import make_token

if TYPE_CHECKING:
    from digest.jobs.context import Context


def add_link(actions: Subcommands) -> None:
    """Add ``link`` to the ``subscribers`` actions."""
    link = add_command(
        actions, "link", "print a member's preferences and unsubscribe links",
        """
        Print a member's own links, the ones at the bottom of their emails: their
        preferences page (digests, themes, language) and their unsubscribe page, both in
        the member's language. The links go to `site.base_url`; with --local to this
        machine, for `digest serve --local`. An unknown address is refused (exit 2).
        """,
        "digest subscribers link francois.lefevre@example.net --local", _link)
    link.add_argument("email", help="the member's address")
    link.add_argument("--local", action="store_true",
                      help="links to http://127.0.0.1:web.port, for `digest serve --local`")


def _link(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    """Two lines, each a label and a link; a heading line names the member."""
    from digest.store import subscribers  # SQLAlchemy: with the store, not the command line

    with ctx.db.transaction() as connection:
        member = subscribers.by_email(connection, args.email)
    if member is None or member.id is None:
        raise InputError(f"no subscriber {args.email!r}")
    settings = served_locally(ctx.settings) if args.local else ctx.settings
    who = f"{member.name} <{member.email}>" if member.name else member.email
    preferences = preferences_url(settings, make_token(ctx.secret, member.id, "preferences"))
    leave = unsubscribe_url(settings, make_token(ctx.secret, member.id, "unsubscribe"))
    print(f"{who} ({member.language}, {member.status.value}): their pages", file=out)
    print(f"  preferences: {preferences}", file=out)
    print(f"  unsubscribe: {leave}", file=out)
    return 0
