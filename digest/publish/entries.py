"""What one feed entry says, built from a stored item or a bulletin, whichever format (Atom,
RSS) the feed is written in.

Entry ids come from ``Item.key`` only (``entry_id``), so an item keeps its id when it is
re-collected, updated or reached through another source. An event's entry opens with when
and where it happens, and a bulletin's lists its sections, both made by ``FeedMarkup``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from digest.errors import PublishError
from digest.models import SECTION_TITLES, Bulletin, Item, Kind
from digest.publish.markup import FeedMarkup

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
    content_html: str = ""  # the full text when the summary is only an outline (bulletins)


def entry_id(key: str) -> str:
    """The stable feed id of the item with this identity key.

    An http(s) key (the item's canonical link) is its own id; any other key (a source's
    guid, a content hash, or a link holding a character no IRI may hold: a space, ``<>"``,
    ``{}|\\^`` and backquote) becomes ``urn:digest:item:<sha1 hex of the key>``, a valid IRI
    whatever characters the key holds.
    """
    if re.match(r"^https?://[^\s<>\"{}|\\^`]+$", key):
        return key
    return "urn:digest:item:" + hashlib.sha1(key.encode("utf-8")).hexdigest()


def bulletin_id(slug: str) -> str:
    """The stable feed id of a bulletin, from its slug."""
    return "urn:digest:bulletin:" + hashlib.sha1(slug.encode("utf-8")).hexdigest()


def newest(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    """Newest first by publication; ties broken by id so the order never wavers."""
    ordered = sorted(entries, key=lambda e: e.id)
    return sorted(ordered, key=lambda e: e.published, reverse=True)


def item_entry(item: Item, labels: dict[str, str], markup: FeedMarkup) -> FeedEntry:
    """A stored item's entry: its themes and its kind as categories."""
    published = _aware(item.published, f"item {item.key!r} published")
    if item.first_seen is not None:  # never dated after it was seen (store.feed_items)
        published = min(published, _aware(item.first_seen, f"item {item.key!r} first seen"))
    updated = _aware(item.updated, f"item {item.key!r} updated") if item.updated else published
    summary = item.summary_html
    if item.event is not None:
        summary = markup.event_note(item) + summary
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


def bulletin_entry(entry: BulletinEntry, labels: dict[str, str],
                   markup: FeedMarkup) -> FeedEntry:
    """A bulletin's entry: its introduction and section titles as summary, the whole
    bulletin as content, its PDF as an enclosure."""
    bulletin = entry.bulletin
    published = _aware(entry.published, f"bulletin {bulletin.slug!r} published")
    categories: list[tuple[str, str, str | None]] = [
        (slug, labels.get(slug, slug), None) for slug in bulletin.themes
    ]
    categories.append((Kind.BULLETIN.value, SECTION_TITLES[Kind.BULLETIN], KIND_SCHEME))
    return FeedEntry(
        id=bulletin_id(bulletin.slug),
        title=bulletin.title,
        link=entry.web_url,
        summary_html=markup.bulletin_summary(bulletin),
        content_html=markup.bulletin_content(bulletin),
        published=published,
        updated=published,
        categories=tuple(categories),
        enclosure=(entry.pdf_url, max(0, int(entry.pdf_size))),
    )


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PublishError(f"{what}: naive datetime {value.isoformat()} (a time zone is needed)")
    return value.astimezone(UTC)

