"""A coordinator's decisions from the command line: ``approve`` (an edition, or a bulletin
with ``bulletin:SLUG``), ``reject``, ``pause``, ``resume`` and ``cancel``.

The decisions and their audit rows are the jobs' (``jobs.review`` for bulletins,
``jobs.edition_actions`` for editions); the command line acts as the actor ``cli``.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from digest.cli.common import Subcommands, add_command
from digest.identifiers import parse_label
from digest.jobs.context import Context

ACTOR = "cli"


def register(commands: Subcommands) -> None:
    """Add ``approve``, ``reject``, ``pause``, ``resume`` and ``cancel``."""
    approve = add_command(
        commands, "approve", "approve a draft edition or a bulletin for sending",
        """
        Let a draft edition (of a digest with `approval: true`) go out with the next run
        or `digest send`; or approve a bulletin of the bulletins folder as its file is now
        (bulletin:SLUG, its file name without .md): the next run sends it once, when its
        send_at has come. A draft or bulletin with lint errors (`digest preview`) is
        refused unless --reason says why it may go out all the same; editing the file
        afterwards makes it a draft again.
        """,
        """
        digest approve weekly/3
        digest approve bulletin:2019-03-wg-smart-social-inclusion --reason "links fixed later"
        """, _approve)
    approve.add_argument("target", help="weekly/3, or bulletin:SLUG")
    approve.add_argument("--reason", metavar="TEXT",
                         help="why it may go out despite its lint errors (recorded)")
    reject = add_command(
        commands, "reject", "send a bulletin back to its author with a note",
        """
        Reject a bulletin as its file is now, with a note saying what to change: it is not
        sent nor published; an edit of its file makes it a draft again.
        """,
        'digest reject bulletin:2019-03-wg-smart-social-inclusion --note "fill in the links"',
        _reject)
    reject.add_argument("target", help="bulletin:SLUG")
    reject.add_argument("--note", metavar="TEXT", required=True, help="what to change")
    for name, summary, description in (
        ("pause", "stop sending an edition for now",
         "Stop sending an approved edition, or one being sent, after the messages in "
         "flight; runs leave it alone until `digest resume`."),
        ("resume", "go on sending a paused edition",
         "Let a paused edition go on: the next run, or `digest send`, sends the rest."),
        ("cancel", "cancel an edition before its first message",
         "Cancel an edition that no message of went out yet: it is never sent and its "
         "items go to the digest's next edition. Refused once sending has started (pause "
         "it instead)."),
    ):
        command = add_command(commands, name, summary, description,
                              f"digest {name} weekly/3", _edition_action)
        command.add_argument("edition", help="weekly/3, or bulletin:SLUG/1")
        command.set_defaults(action=name)


def _bulletin_slug(target: str) -> str | None:
    """``SLUG`` of ``bulletin:SLUG`` (not of an edition label ``bulletin:SLUG/1``)."""
    if target.startswith("bulletin:") and parse_label(target) is None:
        return target.removeprefix("bulletin:")
    return None


def _approve(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    slug = _bulletin_slug(args.target)
    if slug is None:
        from digest.jobs.edition_actions import approve

        row = approve(ctx, args.target, ACTOR, args.reason)
        print(f"{row.label}: approved; `digest send {row.label}` or the next run sends it",
              file=out)
        return 0
    from digest.jobs.review import approve_bulletin

    status = approve_bulletin(ctx, slug, ACTOR, args.reason)
    overridden = f", overriding {len(status.errors)} lint errors" if status.errors else ""
    print(f"{status.target}: approved{overridden}; {status.why(ctx)}", file=out)
    return 0


def _reject(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.errors import InputError
    from digest.jobs.review import reject_bulletin

    slug = _bulletin_slug(args.target)
    if slug is None:
        raise InputError(f"{args.target!r}: only a bulletin (bulletin:SLUG) is rejected; "
                         "an edition is cancelled (`digest cancel`)")
    status = reject_bulletin(ctx, slug, ACTOR, args.note)
    print(f"{status.target}: {status.why(ctx)}", file=out)
    return 0


def _edition_action(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.jobs import edition_actions

    act = {"pause": edition_actions.pause, "resume": edition_actions.resume,
           "cancel": edition_actions.cancel}[args.action]
    row = act(ctx, args.edition, ACTOR)
    print(f"{row.label}: now {row.status}", file=out)
    return 0
