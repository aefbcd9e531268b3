"""What every reader of a source is: a callable from a body and its context to ``Parsed``.

Each format (RSS/Atom, JSON Feed, iCalendar, a folder of notes) has one reader with this
shape, so ``registry`` can choose one by the source's type from a table and ``poll`` treats
them all alike: the fetching, the state and the sealing of items stay in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from digest.clock import Clock
from digest.config import Settings, SourceSettings
from digest.sources.clean.themes import ThemeMapper
from digest.sources.parsed import Parsed

Body = TypeVar("Body", contravariant=True)


@dataclass(frozen=True)
class ReadContext:
    """What a reader needs besides the body: the source, the site's settings, the themes to
    file items under and the clock (an item without a date is dated now)."""

    source: SourceSettings
    settings: Settings
    mapper: ThemeMapper
    clock: Clock


class Reader(Protocol[Body]):
    """Turns a source's body (the bytes fetched, or the folder it names) into ``Parsed``.

    Raises ``SourceError`` when the body cannot be read at all; parts that cannot be read
    are ``Parsed.problems`` and cost only themselves."""

    def __call__(self, body: Body, context: ReadContext, /) -> Parsed: ...
