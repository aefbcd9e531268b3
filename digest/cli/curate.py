"""``digest curate``: curate a digest draft from the command line, as the console does
(``jobs.curation``): leave an item out, pin it first, restore or unpin it, write the
editor's note. Without an option it lists the draft's items with their keys.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from digest.cli.common import Subcommands, add_command
from digest.errors import InputError
from digest.jobs.context import Context

ACTOR = "cli"  # the audit log's name for the command line


def register(commands: Subcommands) -> None:
    """Add ``curate`` with its description and example."""
    curate = add_command(
        commands, "curate", "leave out, pin or annotate the items of a draft edition",
        """
        Curate a draft edition (of a digest with `approval: true`) before it is approved:
        --omit KEY leaves an item out (it never comes back in a later edition),
        --restore KEY puts it back, --pin KEY shows it first in its section, --unpin KEY
        undoes that, --note-file FILE sets the editor's note (Markdown, at most 8 KB,
        shown above the items; an empty file removes it). Every change is recorded in
        the audit log. Without an option, list the draft's items with their keys.
        """,
        """
        digest curate weekly/3
        digest curate weekly/3 --omit https://example.org/news/1 --note-file note.md
        """, _curate)
    curate.add_argument("edition", help="a draft edition such as weekly/3")
    curate.add_argument("--omit", metavar="KEY", action="append", default=[],
                        help="leave this item out")
    curate.add_argument("--restore", metavar="KEY", action="append", default=[],
                        help="put this item back")
    curate.add_argument("--pin", metavar="KEY", action="append", default=[],
                        help="show this item first in its section")
    curate.add_argument("--unpin", metavar="KEY", action="append", default=[],
                        help="put this pinned item back in its place")
    curate.add_argument("--note-file", metavar="FILE", type=Path,
                        help="the editor's note, Markdown (an empty file removes it)")


def _curate(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.jobs import curation

    label: str = args.edition
    note: str | None = None
    if args.note_file is not None:
        try:
            note = args.note_file.read_text(encoding="utf-8")
        except (OSError, UnicodeError) as exc:
            raise InputError(f"cannot read the note {args.note_file}: {exc}") from None
    for key in args.restore:
        curation.restore(ctx, label, key, ACTOR)
    for key in args.unpin:
        curation.unpin(ctx, label, key, ACTOR)
    for key in args.omit:
        curation.omit(ctx, label, key, ACTOR)
    for key in args.pin:
        curation.pin(ctx, label, key, ACTOR)
    if note is not None:
        curation.set_note(ctx, label, note, ACTOR)
    state = curation.current(ctx, label)
    pinned = set(state.curation.pinned)
    print(f"{state.row.label} [{state.row.status}] {state.row.title}", file=out)
    for item in state.kept_items:
        print(f"  {'pinned ' if item.key in pinned else ''}{item.key}  {item.title}", file=out)
    for item in state.omitted_items:
        print(f"  left out {item.key}  {item.title}", file=out)
    if state.curation.note is not None:
        print(f"note: {len(state.curation.note.markdown.encode())} bytes, by "
              f"{state.curation.note.actor}", file=out)
    return 0
