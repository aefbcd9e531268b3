"""``digest bounces``: read the bounce mailbox now, as every run does first."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from digest.cli.common import Subcommands, add_command
from digest.errors import InputError

if TYPE_CHECKING:
    from digest.jobs.context import Context


def register(commands: Subcommands) -> None:
    """Add ``bounces`` with its description and example."""
    add_command(
        commands, "bounces", "read bounces and complaints from the bounce mailbox",
        """
        Read the unread messages of the mailbox in `bounces:` (IMAP, the password from
        DIGEST_BOUNCES_PASSWORD, or a Maildir): delivery status notifications (RFC 3464)
        and abuse reports (RFC 5965). Each is matched to its delivery by the VERP return
        path or the Message-ID, stored once and marked read. A hard bounce marks the member
        bounced, `soft_limit` soft ones in a row too, a complaint unsubscribes them. Every
        run does the same first. Exit 1 when the mailbox cannot be read (docs/bounces.md).
        """,
        "digest bounces   (with DIGEST_BOUNCES_PASSWORD set for an IMAP mailbox)", _bounces)


def _bounces(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.jobs.bounces import SKIPPED_SHOWN, read_bounces

    if ctx.settings.bounces is None:
        raise InputError("no `bounces:` section in the config: no bounce mailbox to read "
                         "(docs/bounces.md)")
    summary = read_bounces(ctx)
    print(summary.line(), file=out)
    for why in summary.skipped[:SKIPPED_SHOWN]:
        print(f"  not a report: {why}", file=out)
    if len(summary.skipped) > SKIPPED_SHOWN:
        print(f"  ... and {len(summary.skipped) - SKIPPED_SHOWN} more", file=out)
    return 0
