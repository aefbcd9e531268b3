"""Managing sources: ``sources import-opml``, ``sources enable``, and the sources part of
``digest status``.

Importing writes to ``schedules.yaml`` (the one place sources are configured): the new
feeds are inserted as a marked block after the last entry of ``sources:``, the result is
validated with ``load_settings`` before it replaces the file (atomically), and nothing is
written when it would not load. Comments and layout of the rest of the file are untouched.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from digest.cli.common import Subcommands, add_command
from digest.config import MAX_CONFIG_BYTES, Settings, load_settings
from digest.dates import console_day, console_stamp
from digest.errors import ConfigError, InputError
from digest.files import write_atomic
from digest.reading import TooLargeError, read_bounded, read_input

if TYPE_CHECKING:
    from digest.jobs.context import Context
    from digest.store.sources import SourceHealth

MAX_OPML_BYTES = 4 * 1024 * 1024  # a reader's export of a few thousand feeds is under 1 MB


def register(commands: Subcommands) -> None:
    """Add ``sources`` and its actions, each with its
    description and example."""
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
    return import_opml(ctx, args.file, out)


def _enable(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    return enable(ctx, args.source_id, out)


def import_opml(ctx: Context, file: str, out: TextIO) -> int:
    """Add the feeds of an OPML file that the config does not have yet."""
    from digest.sources.opml import insert_sources, plan_import, read_opml  # loads httpx

    path = Path(file)
    data = read_input(path, MAX_OPML_BYTES, "an OPML file")
    plan = plan_import(read_opml(data), ctx.settings)
    for outline in plan.known:
        print(f"already configured: {outline.url}", file=out)
    for reason in plan.skipped:
        print(f"skipped: {reason}", file=out)
    if not plan.added:
        print(f"{file}: no new feed to add", file=out)
        return 0
    config = ctx.settings.config_path
    heading = (f"Imported from {path.name} by `digest sources import-opml` on "
               f"{console_day(ctx.clock.now())}:")
    try:
        current = read_bounded(config, MAX_CONFIG_BYTES).decode("utf-8")
    except (OSError, TooLargeError, UnicodeDecodeError) as exc:
        raise InputError(f"{config}: cannot read: {getattr(exc, 'strerror', None) or exc}") \
            from None
    text = insert_sources(current, plan.added, heading)
    _validate(text, config)
    write_atomic(config, text)
    for source in plan.added:
        themes = f" [{', '.join(source.themes)}]" if source.themes else ""
        print(f"added {source.id}: {source.url}{themes}", file=out)
    print(f"{len(plan.added)} feed source{'s' if len(plan.added) != 1 else ''} added to "
          f"{config}", file=out)
    return 0


def _validate(text: str, config: Path) -> None:
    """Load the new text as the config would be loaded (same folder, same relative paths)."""
    handle, name = tempfile.mkstemp(prefix=f".{config.name}.", suffix=".import.yaml",
                                    dir=config.parent)
    os.close(handle)
    candidate = Path(name)
    try:
        candidate.write_text(text, encoding="utf-8")
        load_settings(candidate)
    except ConfigError as exc:
        problems = "; ".join(str(p).replace(str(candidate), config.name) for p in exc.problems)
        raise InputError(f"the imported sources would make {config.name} invalid, so it was "
                         f"left as it was: {problems}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def enable(ctx: Context, source_id: str, out: TextIO) -> int:
    """Let a source disabled by a "410 Gone" be polled again from its configured URL."""
    if not any(s.id == source_id for s in ctx.settings.sources):
        known = ", ".join(s.id for s in ctx.settings.sources) or "none"
        raise InputError(f"no source {source_id!r} in the config (sources: {known})")
    from digest.store import sources  # SQLAlchemy: with the store, not the command line

    with ctx.db.transaction() as connection:
        known_state = sources.enable(connection, source_id, ctx.clock.now())
    print(f"{source_id}: {'enabled' if known_state else 'was not disabled'}; the next "
          f"collection polls it from its configured url", file=out)
    return 0


def health_lines(settings: Settings, health: list[SourceHealth], zone: tzinfo) -> list[str]:
    """One line per source for ``digest status``: state, last success, items, and what the
    operator should know (disabled, moved, polled conditionally)."""
    by_id = {row.id: row for row in health}
    lines = []
    for source in settings.sources:
        row = by_id.pop(source.id, None)
        lines.append(f"  {source.id}: never polled" if row is None
                     else "  " + _line(row, source.location, zone))
    lines += [f"  {row.id}: not in the config any more" for row in by_id.values()]
    return lines


def _line(row: SourceHealth, location: str, zone: tzinfo) -> str:
    when = console_stamp(row.last_success, zone) if row.last_success else "never"
    state = row.state if row.state is not None and row.state.applies_to(location) else None
    status = f"failing ({row.consecutive_failures}x): {row.last_error}" if row.last_error \
        else "ok"
    if state is not None and state.disabled:
        status = f"DISABLED: {state.disabled} (`digest sources enable {row.id}`)"
    plural = "" if row.items_seen == 1 else "s"
    line = f"{row.id}: {status}; last success {when}; {row.items_seen} item{plural}"
    if state is not None and state.url:
        line += f"; moved to {state.url} (update its url in the config)"
    if state is not None and (state.etag or state.last_modified):
        line += "; polled conditionally"
    return line
