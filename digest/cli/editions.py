"""Looking at and letting out one edition: ``preview``, ``send``, ``approve``."""

from __future__ import annotations

import argparse
from typing import TextIO

from digest.cli.common import Subcommands, add_command, install_stop_handler
from digest.context import Context

FORMATS = ("html", "text", "pdf", "mjml", "eml")


def register(commands: Subcommands) -> None:
    preview = add_command(
        commands, "preview", "render one digest or bulletin and lint it",
        """
        Render a digest's next edition (by its id) or a bulletin (by its Markdown file)
        and print its problem list: placeholder and empty links with their line, missing
        alt text, sections without a heading, size against Gmail's clipping. With
        --format, write that one form (mjml is the source before compilation); --out
        FILE.pdf picks the form from the extension. Exit 1 when a problem is an error
        (or any problem, with --strict).
        """,
        """
        digest preview weekly --format html --out weekly.html
        digest preview sample/bulletins/2019-03-wg-smart-social-inclusion.md --out b.pdf
        """, _preview)
    preview.add_argument("target", help="a digest id or a bulletin Markdown file")
    preview.add_argument("--format", choices=FORMATS, help="write this one form")
    preview.add_argument("--out", metavar="FILE", help="where to write it (default: stdout)")
    preview.add_argument("--strict", action="store_true", help="warnings fail (exit 1)")
    send = add_command(
        commands, "send", "deliver an edition, or one test copy",
        """
        Deliver the pending messages of an approved or half-sent edition, named
        DIGEST/NUMBER for a digest (weekly/3) or bulletin:SLUG/1 for a bulletin. With
        --test ADDRESS, send one copy marked [TEST] to that address only (never recorded
        as a delivery). With --retry-failed, queue the edition's refused messages again
        first. SIGTERM or Ctrl-C finishes the message in flight and leaves the rest
        pending.
        """,
        """
        digest send weekly/3
        digest send bulletin:2019-03-wg-smart-social-inclusion/1 --test me@example.org
        """, _send)
    send.add_argument("edition", help="weekly/3, or bulletin:SLUG/1")
    send.add_argument("--test", metavar="ADDRESS", help="send one [TEST] copy to ADDRESS only")
    send.add_argument("--retry-failed", action="store_true",
                      help="queue the edition's failed messages again, then send")
    approve = add_command(
        commands, "approve", "approve a draft edition for sending",
        """
        Let a draft edition (of a digest with `approval: true`) go out with the next run
        or `digest send`.
        """,
        "digest approve weekly/3", _approve)
    approve.add_argument("edition", help="edition label such as weekly/3")


def _preview(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest import commands

    return commands.preview(ctx, args.target, args.format, args.out, args.strict, out)


def _send(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest import commands

    install_stop_handler()
    return commands.send(ctx, args.edition, args.test, out, args.retry_failed)


def _approve(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest import commands

    return commands.approve(ctx, args.edition, out)
