"""PURE: stored items + a digest + where the last edition stopped → the next ``Edition``.

No store, no templates, no clock: everything arrives as arguments, so an edition can be
composed for a preview, a test or a real send in exactly the same way.

What is new: items first seen after the previous edition's end (the cursor) and at or before
``now``; of the digest's kinds and themes; published within the digest's ``max_age`` (so a
newly added source does not flood the next edition with its archive); and, for events, not
yet over. Sections follow the kind order News, Events, Case studies, Publications; events
are sorted by start, everything else newest first. ``max_items`` caps the whole edition; the rest
is counted in ``omitted``, and the first of them, up to the digest's ``max_web_items`` in all,
are kept in ``overflow`` for the web version and PDF. The rest are only counted
(``Edition.unlisted``): no reader scrolls through 50 000 items, and listing them would make
the page, the PDF and the run unbounded. The candidates are read once, as a stream, keeping
per section only the items that can still be listed, so the cost is linear in the number of
new items and the memory bounded by ``max_web_items``.

A coordinator's curation (``curate``) reorders a stored edition: pinned items first in
their section; items left out are not in the frozen edition, and ``exclude`` keeps them out
of every later one.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from itertools import count
from zoneinfo import ZoneInfo

from digest.config import DigestSettings
from digest.dates import instant
from digest.identifiers import VariantKey
from digest.models import SECTION_TITLES, Edition, Item, Kind, Section, Subscriber, Variant

SECTION_ORDER = (Kind.NEWS, Kind.EVENT, Kind.CASE_STUDY, Kind.PUBLICATION, Kind.BULLETIN,
                 Kind.OTHER)
UPCOMING_LIMIT = 10  # events a bulletin adds to its "Upcoming meetings and activities"


def event_is_over(item: Item, now: datetime, zone: ZoneInfo) -> bool:
    """An event is over once its (inclusive) end has passed; without an end, its start."""
    if item.event is None:
        return False
    last = item.event.end or item.event.start
    return instant(last, zone, end_of_day=True) < now


def _start_key(item: Item, zone: ZoneInfo) -> datetime:
    assert item.event is not None
    return instant(item.event.start, zone)


def is_new(item: Item, digest: DigestSettings, cursor: datetime | None, now: datetime,
           zone: ZoneInfo) -> bool:
    """Whether an item belongs in the digest's next edition."""
    if item.first_seen is None or item.first_seen > now:
        return False
    if cursor is not None and item.first_seen <= cursor:
        return False
    if item.kind not in digest.kinds or not digest.covers(item.themes):
        return False
    if item.kind is Kind.EVENT and item.event is not None:
        return not event_is_over(item, now, zone)
    return item.published >= now - digest.max_age


def upcoming_events(events: Iterable[Item], themes: Iterable[str], now: datetime,
                    zone: ZoneInfo, limit: int = UPCOMING_LIMIT) -> tuple[Item, ...]:
    """The nearest events still to come of these themes, soonest first: a bulletin lists a
    handful, however many occurrences the calendars hold (a weekly series gives 52)."""
    wanted = set(themes)
    coming = (event for event in events if event.event is not None
              and wanted & set(event.themes) and not event_is_over(event, now, zone))
    return tuple(heapq.nsmallest(limit, coming, key=lambda e: (_start_key(e, zone), e.title)))


def _reading_order(kind: Kind, zone: ZoneInfo) -> Callable[[Item], tuple[object, ...]]:
    """How a section is sorted: events by start, everything else newest first."""
    if kind is Kind.EVENT:
        return lambda item: (item.event is None,
                             _start_key(item, zone) if item.event else item.published,
                             item.title)
    return lambda item: (-item.published.timestamp(), item.title)


def _sections(items: Sequence[Item], zone: ZoneInfo) -> list[Section]:
    sections = []
    for kind in SECTION_ORDER:
        chosen = sorted((item for item in items if item.kind is kind),
                        key=_reading_order(kind, zone))
        if chosen:
            sections.append(Section(kind=kind, title=SECTION_TITLES[kind], items=tuple(chosen)))
    return sections


class _FirstInReadingOrder:
    """The first ``room`` items of each section in reading order, and how many there were,
    from a stream of any length: a bounded heap per section, O(log room) an item."""

    def __init__(self, room: int, zone: ZoneInfo) -> None:
        self.room = room
        self.zone = zone
        self.counts: dict[Kind, int] = {}
        self._heaps: dict[Kind, list[tuple[_Last, int, Item]]] = {}
        self._arrival = count()

    def add(self, item: Item) -> None:
        self.counts[item.kind] = self.counts.get(item.kind, 0) + 1
        order = _reading_order(item.kind, self.zone)(item)
        # heapq keeps the smallest on top: negate the order by wrapping it, so the top is
        # the item that comes last in reading order, the one to drop when full.
        entry: tuple[_Last, int, Item] = (_Last(order), -next(self._arrival), item)
        heap = self._heaps.setdefault(item.kind, [])
        if len(heap) < self.room:
            heapq.heappush(heap, entry)
        elif entry[0] > heap[0][0]:
            heapq.heapreplace(heap, entry)

    def sections(self) -> list[Section]:
        return _sections([item for heap in self._heaps.values() for _, _, item in heap],
                         self.zone)


class _Last:
    """Reverses an order, so that a min-heap holds the item that sorts last on top."""

    __slots__ = ("order",)

    def __init__(self, order: tuple[object, ...]) -> None:
        self.order = order

    def __lt__(self, other: _Last) -> bool:
        return other.order < self.order

    def __gt__(self, other: _Last) -> bool:
        return self.order < other.order

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Last) and self.order == other.order



def _cap(sections: list[Section], limit: int,
         listed: int) -> tuple[tuple[Section, ...], tuple[Item, ...]]:
    """The first ``limit`` items in reading order, and the next ones up to ``listed`` items
    in all (the overflow the web version lists)."""
    kept: list[Section] = []
    overflow: list[Item] = []
    room = limit
    for section in sections:
        taken = section.items[:room]
        overflow.extend(section.items[len(taken):])
        room -= len(taken)
        if taken:
            kept.append(Section(kind=section.kind, title=section.title, items=taken))
    shown = sum(len(section.items) for section in kept)
    return tuple(kept), tuple(overflow[:max(0, listed - shown)])


def unlisted_count(shown: int, omitted: int, digest: DigestSettings) -> int:
    """Items counted but listed nowhere: beyond ``max_web_items`` in all."""
    listed = max(digest.max_web_items, digest.max_items)
    return omitted - min(omitted, max(0, listed - shown))


def compose_edition(digest: DigestSettings, candidates: Iterable[Item], *, cursor: datetime | None,
                    slot: datetime, now: datetime, number: int, zone: ZoneInfo,
                    exclude: Collection[str] = frozenset()) -> Edition:
    """The next edition of ``digest``: what is new since ``cursor``, grouped and capped;
    never an item of ``exclude`` (the keys a coordinator left out of an edition)."""
    listed = max(digest.max_web_items, digest.max_items)
    first = _FirstInReadingOrder(listed, zone)
    for item in candidates:
        if item.key not in exclude and is_new(item, digest, cursor, now, zone):
            first.add(item)
    sections, overflow = _cap(first.sections(), digest.max_items, listed)
    shown = sum(len(section.items) for section in sections)
    omitted = sum(first.counts.values()) - shown
    return Edition(digest_id=digest.id, title=digest.title, number=number, slot=slot,
                   period_start=cursor, period_end=now, sections=sections,
                   omitted=omitted, overflow=overflow,
                   unlisted=unlisted_count(shown, omitted, digest))


def edition_from_items(digest: DigestSettings, items: Sequence[Item], *, number: int,
                       slot: datetime, period_start: datetime | None, period_end: datetime,
                       omitted: int, zone: ZoneInfo) -> Edition:
    """Rebuild a frozen edition from its stored items (for resuming or re-rendering)."""
    return Edition(digest_id=digest.id, title=digest.title, number=number, slot=slot,
                   period_start=period_start, period_end=period_end,
                   sections=tuple(_sections(items, zone)), omitted=omitted,
                   unlisted=unlisted_count(len(items), omitted, digest))


def curate(edition: Edition, *, pinned: Sequence[str] = (), note_html: str = "") -> Edition:
    """The edition as its coordinators curated it: each ``pinned`` item first in its
    section (in the order they were pinned; the rest keep the reading order) and the
    editor's note. Without a curation the edition is returned as it is."""
    if not pinned and not note_html:
        return edition
    rank = {key: index for index, key in enumerate(pinned)}
    last = len(rank)
    sections = tuple(
        Section(kind=s.kind, title=s.title, items=tuple(sorted(
            s.items, key=lambda item: rank.get(item.key, last))))  # stable: reading order
        for s in edition.sections)
    return replace(edition, sections=sections, note_html=note_html)


def member_variant_key(member: Subscriber, site_language: str | None = None) -> VariantKey:
    """The variant a member receives: their theme subset, in their language when it is not
    the site's (so members are rendered per language and theme subset, never one by one)."""
    language = member.language.strip().replace("_", "-").lower()
    default = (site_language or "").replace("_", "-").lower()
    return VariantKey.of(member.themes, None if language in ("", default) else language)


def variant_of(edition: Edition, key: VariantKey) -> Variant:
    """The edition as seen by the members of ``key``: narrowed to its themes (None:
    everything)."""
    themes = key.themes
    if not themes:
        return Variant(key=key, themes=None, edition=edition)
    sections = tuple(
        Section(kind=s.kind, title=s.title,
                items=tuple(i for i in s.items if set(i.themes) & themes))
        for s in edition.sections
    )
    narrowed = Edition(
        digest_id=edition.digest_id, title=edition.title, number=edition.number,
        slot=edition.slot, period_start=edition.period_start, period_end=edition.period_end,
        sections=tuple(s for s in sections if s.items), themes=themes, omitted=0,
        note_html=edition.note_html)
    return Variant(key=key, themes=themes, edition=narrowed)


def variants_for(edition: Edition, members: Iterable[Subscriber],
                 site_language: str | None = None) -> dict[VariantKey, Variant]:
    """One variant per distinct (language, theme subset) among the members, not per member;
    members reading ``site_language`` (or every member, when it is None) share the
    unprefixed keys."""
    variants: dict[VariantKey, Variant] = {}
    for member in members:
        key = (member_variant_key(member, site_language) if site_language is not None
               else VariantKey.of(member.themes))
        if key not in variants:
            variants[key] = variant_of(edition, key)
    return variants
