"""Which reader reads which type of source: one table instead of a chain of ifs.

A source's ``type`` in the config names an entry here. A type that is fetched (from a file
or an http(s) URL) says what media types to ask the server for; a folder is read where it
lies. The rest of the stage asks an entry what it needs to know (is it fetched, does it
change with the month) rather than comparing type names. Adding a format is one reader
module and one line in ``READERS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from digest.errors import SourceError
from digest.sources.feed import read_any_feed, read_listing
from digest.sources.fetch import ACCEPT_CALENDAR, ACCEPT_FEED, Fetched
from digest.sources.folder import read_folder
from digest.sources.ical import parse_calendar
from digest.sources.parsed import Parsed
from digest.sources.reader import Listing, Reader


@dataclass(frozen=True)
class Fetches:
    """A type whose document is fetched, asking for ``accept``, then read. ``expands_ahead``:
    its items depend on the month as well as on its bytes (a calendar's recurring events
    are expanded from now on), so it is read again each month even when unchanged.
    ``by_listing``: the same reading from the bytes and a ``Listing`` alone, which a
    parsing process can run (``parse_process``); None keeps the type in the poll's thread."""

    read: Reader[Fetched]
    accept: str
    expands_ahead: bool = False
    by_listing: Callable[[Fetched, Listing], Parsed] | None = None
    fetched: ClassVar[bool] = True  # read from a host, which the pool takes turns with


@dataclass(frozen=True)
class ReadsFolder:
    """A type read from a local folder: nothing is fetched, no validators are kept."""

    read: Reader[Path]
    expands_ahead: ClassVar[bool] = False
    fetched: ClassVar[bool] = False


SourceType = Fetches | ReadsFolder


READERS: Mapping[str, SourceType] = {
    "feed": Fetches(read_any_feed, ACCEPT_FEED, by_listing=read_listing),
    "ical": Fetches(parse_calendar, ACCEPT_CALENDAR, expands_ahead=True),
    "folder": ReadsFolder(read_folder),
}


def source_type(name: str) -> SourceType:
    """The entry for a source type; an unknown one is a ``SourceError`` naming the known."""
    try:
        return READERS[name]
    except KeyError:
        known = ", ".join(sorted(READERS))
        raise SourceError(f"unknown source type {name!r} (known types: {known})") from None
