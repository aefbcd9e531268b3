"""What every reader of a source is: a callable from a body and its context to ``Parsed``.

Each format (RSS/Atom, JSON Feed, iCalendar, a folder of notes) has one reader with this
shape, so ``registry`` can choose one by the source's type from a table and ``poll`` treats
them all alike: the fetching, the state and the sealing of items stay in one place.

A listing's readers (RSS, Atom, JSON Feed) need much less than the settings: a ``Listing``,
small and picklable, which is all a parsing process (``parse_process``) is sent. The
settings and the clock are named for the type checker only, so a parsing process imports
neither the configuration nor its validation library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from digest.models import Kind
from digest.sources.clean.themes import ThemeMapper
from digest.sources.parsed import Parsed

if TYPE_CHECKING:
    from digest.clock import Clock
    from digest.config import Settings, SourceSettings

Body = TypeVar("Body", contravariant=True)


@dataclass(frozen=True)
class Listing:
    """What turning a listing's entries into items needs: the source they are filed under
    (its id, kind and themes), the theme rules, the time an undated entry is given, and
    how many entries to read at most (``collect.max_items``)."""

    source_id: str
    kind: Kind | None
    themes: tuple[str, ...]
    mapper: ThemeMapper
    now: datetime
    max_items: int


@dataclass(frozen=True)
class ReadContext:
    """What a reader needs besides the body: the source, the site's settings, the themes to
    file items under and the clock (an item without a date is dated now)."""

    source: SourceSettings
    settings: Settings
    mapper: ThemeMapper
    clock: Clock

    @property
    def listing(self) -> Listing:
        """The part of this context a listing's entries need."""
        return Listing(self.source.id, self.source.kind, tuple(self.source.themes),
                       self.mapper, self.clock.now(), self.settings.collect.max_items)


class Reader(Protocol[Body]):
    """Turns a source's body (the bytes fetched, or the folder it names) into ``Parsed``.

    Raises ``SourceError`` when the body cannot be read at all; parts that cannot be read
    are ``Parsed.problems`` and cost only themselves."""

    def __call__(self, body: Body, context: ReadContext, /) -> Parsed: ...
