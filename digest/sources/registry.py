"""Which reader reads which type of source: one table instead of a chain of ifs.

A source's ``type`` in the config names an entry here. A type that is fetched (from a file
or an http(s) URL) says what media types to ask the server for; a folder is read where it
lies. The rest of the stage asks an entry what it needs to know (is it fetched, does it
change with the month) rather than comparing type names. Adding a format is one reader
module and one line in ``READERS``.

Readers are named ("module:function") and imported when a source of their type is first
read: a run with feeds alone never loads the calendar or Markdown libraries, and one whose
feeds are parsed in parsing processes does not load feedparser either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar, cast

from digest.errors import SourceError
from digest.sources.fetch import ACCEPT_CALENDAR, ACCEPT_FEED, Fetched
from digest.sources.parsed import Parsed
from digest.sources.reader import Listing, Reader


def _named(path: str) -> Any:
    """The function ``module:name``, its module imported on first use."""
    module, name = path.split(":")
    return getattr(import_module(module), name)


@dataclass(frozen=True)
class Fetches:
    """A type whose document is fetched, asking for ``accept``, then read. ``expands_ahead``:
    its items depend on the month as well as on its bytes (a calendar's recurring events
    are expanded from now on), so it is read again each month even when unchanged.
    ``listing_reader``: the same reading from the bytes and a ``Listing`` alone, which a
    parsing process can run (``parse_process``); None keeps the type in the poll's thread."""

    reader: str  # "module:function", a Reader[Fetched]
    accept: str
    expands_ahead: bool = False
    listing_reader: str | None = None
    fetched: ClassVar[bool] = True  # read from a host, which the pool takes turns with

    @property
    def read(self) -> Reader[Fetched]:
        return cast("Reader[Fetched]", _named(self.reader))

    @property
    def by_listing(self) -> Callable[[Fetched, Listing], Parsed] | None:
        if self.listing_reader is None:
            return None
        return cast("Callable[[Fetched, Listing], Parsed]", _named(self.listing_reader))


@dataclass(frozen=True)
class ReadsFolder:
    """A type read from a local folder: nothing is fetched, no validators are kept."""

    reader: str  # "module:function", a Reader[Path]
    expands_ahead: ClassVar[bool] = False
    fetched: ClassVar[bool] = False

    @property
    def read(self) -> Reader[Path]:
        return cast("Reader[Path]", _named(self.reader))


SourceType = Fetches | ReadsFolder


READERS: Mapping[str, SourceType] = {
    "feed": Fetches("digest.sources.feed:read_any_feed", ACCEPT_FEED,
                    listing_reader="digest.sources.feed:read_listing"),
    "ical": Fetches("digest.sources.ical:parse_calendar", ACCEPT_CALENDAR, expands_ahead=True),
    "folder": ReadsFolder("digest.sources.folder:read_folder"),
}


def source_type(name: str) -> SourceType:
    """The entry for a source type; an unknown one is a ``SourceError`` naming the known."""
    try:
        return READERS[name]
    except KeyError:
        known = ", ".join(sorted(READERS))
        raise SourceError(f"unknown source type {name!r} (known types: {known})") from None
