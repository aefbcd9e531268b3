"""What one feed entry says, built from a stored item or a bulletin, whichever format (Atom,
RSS) the feed is written in.

Entry ids come from ``Item.key`` only (``entry_id``), so an item keeps its id when it is
re-collected, updated or reached through another source. An event's entry opens with when
and where it happens, the date written as the emails write it (``digest.dates``).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from digest.dates import format_event_dates, zone_name
from digest.errors import PublishError
from digest.models import SECTION_TITLES, Bulletin, Item, Kind

KIND_SCHEME = "urn:digest:kind"
"""The Atom category scheme (RSS category domain) that marks an entry's kind."""


@dataclass(frozen=True)
class BulletinEntry:
    """A bulletin as it appears in the bulletins feed, with where its web and PDF forms live."""

    bulletin: Bulletin
    web_url: str
    pdf_url: str
    pdf_size: int
    published: datetime


@dataclass(frozen=True)
class FeedEntry:
    """What one feed entry says, whichever format it is written in."""

    id: str
    title: str
    link: str | None
    summary_html: str
    published: datetime
    updated: datetime
    categories: tuple[tuple[str, str, str | None], ...]  # term, label, scheme
    enclosure: tuple[str, int] | None = None  # PDF URL, size in bytes


def entry_id(key: str) -> str:
    """The stable feed id of the item with this identity key.

    An http(s) key (the item's canonical link) is its own id; any other key (a source's
    guid, a content hash) becomes ``urn:digest:item:<sha1 hex of the key>``, a valid IRI
    whatever characters the key holds.
    """
    if re.match(r"^https?://[^\s<>\"]+$", key):
        return key
    return "urn:digest:item:" + hashlib.sha1(key.encode("utf-8")).hexdigest()


def bulletin_id(slug: str) -> str:
    """The stable feed id of a bulletin, from its slug."""
    return "urn:digest:bulletin:" + hashlib.sha1(slug.encode("utf-8")).hexdigest()


def newest(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    """Newest first by publication; ties broken by id so the order never wavers."""
    ordered = sorted(entries, key=lambda e: e.id)
    return sorted(ordered, key=lambda e: e.published, reverse=True)


def item_entry(item: Item, labels: dict[str, str], language: str, zone: tzinfo) -> FeedEntry:
    """A stored item's entry: its themes and its kind as categories."""
    published = _aware(item.published, f"item {item.key!r} published")
    updated = _aware(item.updated, f"item {item.key!r} updated") if item.updated else published
    summary = item.summary_html
    if item.event is not None:
        summary = _event_html(item, language, zone) + summary
    categories: list[tuple[str, str, str | None]] = [
        (slug, labels.get(slug, slug), None) for slug in item.themes
    ]
    categories.append((item.kind.value, SECTION_TITLES.get(item.kind, item.kind.value),
                       KIND_SCHEME))
    return FeedEntry(
        id=entry_id(item.key),
        title=item.title,
        link=item.link,
        summary_html=summary,
        published=published,
        updated=max(published, updated),
        categories=tuple(categories),
    )


def bulletin_entry(entry: BulletinEntry, labels: dict[str, str]) -> FeedEntry:
    """A bulletin's entry: its introduction and section titles, its PDF as an enclosure."""
    bulletin = entry.bulletin
    published = _aware(entry.published, f"bulletin {bulletin.slug!r} published")
    parts = [bulletin.intro_html] if bulletin.intro_html.strip() else []
    titled = [s.title for s in bulletin.sections if s.title]
    if titled:
        parts.append("<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in titled) + "</ul>")
    categories: list[tuple[str, str, str | None]] = [
        (slug, labels.get(slug, slug), None) for slug in bulletin.themes
    ]
    categories.append((Kind.BULLETIN.value, SECTION_TITLES[Kind.BULLETIN], KIND_SCHEME))
    return FeedEntry(
        id=bulletin_id(bulletin.slug),
        title=bulletin.title,
        link=entry.web_url,
        summary_html="".join(parts),
        published=published,
        updated=published,
        categories=tuple(categories),
        enclosure=(entry.pdf_url, max(0, int(entry.pdf_size))),
    )


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PublishError(f"{what}: naive datetime {value.isoformat()} (a time zone is needed)")
    return value.astimezone(UTC)


def _event_html(item: Item, language: str, zone: tzinfo) -> str:
    """A first paragraph saying when and where an event happens, the date written as the
    emails write it (``digest.dates``), with the zone's name for a timed event, since a
    feed reader may be anywhere."""
    assert item.event is not None
    event = item.event
    when = format_event_dates(event, language, zone)
    if isinstance(event.start, datetime):
        when += f" ({zone_name(event.start.astimezone(zone))})"
    text = f"<strong>When:</strong> {html.escape(when)}"
    if event.location:
        text += f"<br><strong>Where:</strong> {html.escape(event.location)}"
    return f'<p class="event-when">{text}</p>'
