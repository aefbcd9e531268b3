"""One poll of one source: its stored state in, a ``Poll`` out, never an exception.

This is the boundary of the stage. Whatever goes wrong reading a source (the network, a
parser, a hostile document) becomes the poll's ``error``, naming the source and where it
reads from, so the collect job (``digest.jobs.collect``) can record it and carry on with
the others; no third-party exception crosses it. The state the next poll needs
(validators, a permanent redirect's address, "disabled" after a 410) comes back with the
result, for the job to store in the same transaction as the items.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime

import httpx

from digest import __version__
from digest.clock import Clock
from digest.config import Settings, SourceSettings
from digest.dates import console_day
from digest.errors import SourceError
from digest.models import Item
from digest.source_state import SourceState
from digest.sources.clean.seal import event_problems, sealed
from digest.sources.clean.themes import ThemeMapper
from digest.sources.fetch import SourceGoneError, fetch
from digest.sources.fetched import Fetched
from digest.sources.parsed import Parsed, left_out
from digest.sources.parsers import ParsingProcesses
from digest.sources.policy import FetchPolicy
from digest.sources.reader import ReadContext
from digest.sources.registry import READERS, ReadsFolder, source_type


@dataclass(frozen=True)
class Poll:
    """What polling one source gave.

    ``items`` is None when nothing was read: the server said "not modified", the source
    is disabled, or the poll failed (``error``). ``problems`` are parts skipped while the
    rest was read (a broken note in a folder). ``state`` is what to remember for next time.
    """

    source_id: str
    state: SourceState
    items: tuple[Item, ...] | None = None
    error: str | None = None
    note: str | None = None
    problems: tuple[str, ...] = ()
    skipped: bool = False  # disabled: not polled at all


def fingerprint(source: SourceSettings, settings: Settings, now: datetime) -> str:
    """What the items of a source depend on besides its bytes: its own settings, the
    themes and their rules, the site's zone and default themes, how many items a poll
    keeps (``collect.max_items``), this version's parsing, and for a calendar the month
    (recurring events are expanded from now on, so an unchanged calendar is still read
    again once a month to reach further ahead)."""
    parts: list[object] = [
        __version__, source.type, source.kind, source.themes, settings.site.timezone,
        settings.site.default_themes, settings.collect.max_items,
        [[t.slug, t.title, t.aliases, t.keywords] for t in settings.theme_list()]]
    entry = READERS.get(source.type)  # an unknown type's poll fails below, by name
    if entry is not None and entry.expands_ahead:
        parts += [f"{now:%Y-%m}", settings.collect.events_ahead.total_seconds()]
    encoded = json.dumps(parts, default=str, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def where(source: SourceSettings) -> str:
    """How messages name a source: its id and what it reads."""
    return f"source {source.id!r} ({source.location or 'no location'})"


def poll_source(
    source: SourceSettings,
    settings: Settings,
    clock: Clock,
    state: SourceState | None = None,
    *,
    client: httpx.Client | None = None,
    policy: FetchPolicy | None = None,
    parsers: ParsingProcesses | None = None,
) -> Poll:
    """Poll one source once, from its stored state (None or another location: afresh);
    with ``parsers``, a feed is parsed in one of those processes rather than here."""
    if state is None or not state.applies_to(source.location):
        state = SourceState(location=source.location)
    basis = fingerprint(source, settings, clock.now())
    if state.fingerprint != basis:  # read with other settings: read and file them again
        state = replace(state, etag=None, last_modified=None, fingerprint=basis)
    if state.disabled:
        return Poll(source.id, state, skipped=True,
                    note=f"disabled: {state.disabled}; change its url or "
                         f"run `digest sources enable {source.id}`")
    try:
        return _poll(source, settings, clock, state, client,
                     policy or FetchPolicy.from_settings(settings), parsers)
    except SourceGoneError as exc:
        disabled = f"{exc} (on {console_day(clock.now())})"
        return Poll(source.id, replace(state, disabled=disabled),
                    error=f"{where(source)}: {exc}; the source is disabled")
    except SourceError as exc:
        return Poll(source.id, state, error=f"{where(source)}: {exc}")
    except Exception as exc:  # the boundary: whatever a parser let through, translated
        return Poll(source.id, state,
                    error=f"{where(source)}: unexpected {type(exc).__name__}: {exc}")


def _poll(source: SourceSettings, settings: Settings, clock: Clock, state: SourceState,
          client: httpx.Client | None, policy: FetchPolicy,
          parsers: ParsingProcesses | None) -> Poll:
    """Read the source with the reader its type names (``registry``): a folder where it
    lies, anything else fetched first, conditionally, from where it last answered."""
    reader = source_type(source.type)
    context = ReadContext(source, settings,
                          ThemeMapper(settings.theme_list(), settings.site.default_themes),
                          clock)
    if isinstance(reader, ReadsFolder):
        folder = settings.resolve(source.path or source.url or "")
        return _result(source, state, reader.read(folder, context), None,
                       settings.collect.max_items)
    if not source.url:
        raise SourceError(f"a {source.type} source needs url")
    fetched = fetch(state.url or source.url, settings, client, accept=reader.accept,
                    policy=policy, etag=state.etag, last_modified=state.last_modified)
    state = replace(state, url=fetched.moved_to or state.url, etag=fetched.etag,
                    last_modified=fetched.last_modified)
    moved = (f"moved permanently to {fetched.moved_to}, polled there from now on "
             "(update its url in the config)") if fetched.moved_to else None
    if fetched.not_modified:
        return Poll(source.id, state, note="; ".join(filter(None, ["not modified", moved])),
                    problems=tuple(f"{where(source)}: {p}" for p in fetched.problems))
    if parsers is not None and reader.by_listing is not None:
        job = (reader.by_listing, fetched, context.listing)
        parsed = parsers.read(job)
        return _result(source, state, _with(parsed, fetched), moved,
                       settings.collect.max_items, sealed_already=True)
    return _result(source, state, _with(reader.read(fetched, context), fetched), moved,
                   settings.collect.max_items)


def _with(parsed: Parsed, fetched: Fetched) -> Parsed:
    """The parser's problems after those of the response itself."""
    return replace(parsed, problems=[*fetched.problems, *parsed.problems])


def _result(source: SourceSettings, state: SourceState, parsed: Parsed, note: str | None,
            max_items: int, *, sealed_already: bool = False) -> Poll:
    """Every parser's items leave here, through ``clean.sealed`` (scrubbed, bounded and
    given their link keys), which a parsing process has done already, and at most
    ``max_items`` of them (a calendar's events, or any reader that does not stop itself)."""
    items, extra = parsed.items[:max_items], len(parsed.items) - max_items
    kept = [*parsed.problems, *([left_out(extra, max_items, "items")] if extra > 0 else []),
            *([] if sealed_already else event_problems(items))]
    problems = tuple(f"{where(source)}: {problem}" for problem in kept)
    items = items if sealed_already else sealed(items)
    return Poll(source.id, state, items=tuple(items), note=note, problems=problems)
