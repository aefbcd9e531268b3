"""The coordinators' console from the command line: ``coordinators link EMAIL`` prints a
sign-in link, for a first sign-in or when mail is down (docs/console.md, "Signing in")."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from digest.cli.common import Subcommands, add_command
from digest.config.local import served_locally
from digest.dates import console_stamp
from digest.errors import InputError

if TYPE_CHECKING:
    from digest.jobs.context import Context


def register(commands: Subcommands) -> None:
    """Add ``coordinators`` and its actions, each with its description and example."""
    group = add_command(
        commands, "coordinators", "the coordinators' console",
        """
        Tools for the coordinators' console that `digest serve` runs under /admin/.
        `digest coordinators ACTION --help` describes each action.
        """,
        "digest coordinators link anna@example.org")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    link = add_command(
        actions, "link", "print a sign-in link to the console",
        """
        Print a sign-in link to the console for a coordinator listed in the config (site
        `coordinators`, or a digest's own): the same single-use link the sign-in page
        mails, valid for 15 minutes, for a first sign-in or when mail is down. Open it
        in a browser and press the button. An address that is no coordinator is refused
        (exit 2). The link goes to `site.base_url`, so `digest serve` must answer there;
        with --local it goes to this machine, for `digest serve --local`.
        """,
        "digest coordinators link anna@example.org --local", _link)
    link.add_argument("email", help="the coordinator's address, as in the config")
    link.add_argument("--local", action="store_true",
                      help="a link to http://127.0.0.1:web.port, for `digest serve --local`")


def _link(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    """``digest coordinators link EMAIL``: the link, on its own line."""
    from digest.jobs import sign_in  # the mail's templates: loaded for this command only

    if args.local:
        ctx.settings = served_locally(ctx.settings)
    url = sign_in.issue_link(ctx, args.email)
    if url is None:
        raise InputError(f"{args.email!r} is no coordinator in {ctx.settings.config_path.name} "
                         "(add it to `coordinators:`, site-wide or in a digest)")
    print(url, file=out)
    until = console_stamp(ctx.clock.now() + sign_in.LINK_LIFETIME, ctx.settings.site.zone)
    print(f"valid once, until {until} ({ctx.settings.site.timezone})", file=out)
    return 0
