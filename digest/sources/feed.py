"""RSS (0.9x, 1.0, 2.0) and Atom feeds → items, through feedparser.

feedparser already copes with the many dialects and broken feeds of the web and resolves
relative links against xml:base or the feed's URL; this module only reads what each entry
says into an ``entries.Entry``, which makes the item (as for JSON Feed). The bytes
pass ``guard.defuse_xml`` first: feedparser's lenient parser would expand an entity bomb.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from digest.errors import SourceError
from digest.sources.clean.identity import is_web_link
from digest.sources.clean.markup import text_to_html
from digest.sources.entries import Entry, items_of, web_link
from digest.sources.fetched import Fetched
from digest.sources.guard import defuse_xml
from digest.sources.jsonfeed import looks_like_json_feed, read_json_feed
from digest.sources.parsed import Parsed
from digest.sources.reader import Listing, ReadContext


def read_any_feed(fetched: Fetched, context: ReadContext) -> Parsed:
    """A ``feed`` source may be RSS, Atom or JSON Feed: the document says which."""
    return read_listing(fetched, context.listing)


def read_listing(fetched: Fetched, listing: Listing) -> Parsed:
    """A feed's items from its bytes and its ``Listing`` alone: what a parsing process runs
    (``parse_process``), as well as the polling thread when there is none."""
    if looks_like_json_feed(fetched):
        return read_json_feed(fetched, listing)
    return read_feed(fetched, listing)


def read_feed(fetched: Fetched, listing: Listing) -> Parsed:
    """Every entry of a feed as an item, in the feed's order.

    A feed that cannot be read at all (not XML, not a feed) is a ``SourceError``; a feed
    with recoverable mistakes (feedparser's "bozo" with entries) is accepted, as readers do.
    """
    headers = {"content-type": fetched.content_type or "application/xml"}
    if fetched.base:
        headers["content-location"] = fetched.base
    # A stream, never bytes: feedparser would take a bytes document naming a path or URL
    # as something to open. Its own sanitiser is off: it keeps the text of frames and
    # unknown tags, and ``clean.sanitize_html`` must see the HTML as the source sent it.
    data = defuse_xml(fetched.data, fetched.content_type)
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=False,
                              resolve_relative_uris=False)
    entries: list[Any] = list(parsed.get("entries", []))
    if not entries:
        if parsed.get("bozo"):
            problem = parsed.get("bozo_exception")
            raise SourceError(f"not a readable feed: {problem or 'unknown parse error'}")
        if not parsed.get("version"):
            raise SourceError("not an RSS or Atom feed")
        return Parsed()
    feed_link = str(parsed.get("feed", {}).get("link") or "")
    anchor = fetched.base or (feed_link if is_web_link(feed_link) else None)
    return items_of([_entry(entry, anchor) for entry in entries[:listing.max_items]], anchor,
                    listing, total=len(entries))


def _entry(entry: Mapping[str, Any], anchor: str | None) -> Entry:
    content_html, content_base = _summary(entry)
    return Entry(
        guid=str(entry.get("id") or ""),
        link=web_link(str(entry.get("link") or ""), anchor),
        title=str(entry.get("title") or ""),
        content_html=content_html,
        content_base=content_base,
        categories=_categories(entry),
        published=_when(_own(entry, "published_parsed")),
        updated=_when(_own(entry, "updated_parsed")),
    )


def _own(entry: Mapping[str, Any], key: str) -> Any:
    """A value the entry really has: feedparser's ``get`` answers "updated" with
    "published" (and warns) when the entry has no date of its own under that name."""
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def _summary(entry: Mapping[str, Any]) -> tuple[str, str | None]:
    """The fuller of the entry's content and summary, as HTML, and the base (``xml:base``
    or the document's address) its relative links resolve against. feedparser is not asked
    to resolve them (it would run a parser of its own over every entry's HTML, a quarter
    of its time): ``clean.sanitize_html`` resolves them against that base while it cleans."""
    candidates: list[tuple[str, str, str]] = []
    for content in entry.get("content") or []:
        candidates.append((str(content.get("value") or ""), str(content.get("type") or ""),
                           str(content.get("base") or "")))
        break
    detail = entry.get("summary_detail") or {}
    candidates.append((str(entry.get("summary") or ""), str(detail.get("type") or ""),
                       str(detail.get("base") or "")))
    value, media_type, base = max(candidates, key=lambda found: len(found[0].strip()))
    return (text_to_html(value) if media_type == "text/plain" else value), base or None


def _categories(entry: Mapping[str, Any]) -> list[str]:
    labels: list[str] = []
    for tag in entry.get("tags") or []:
        for field in ("term", "label"):
            value = str(tag.get(field) or "").strip()
            if value:
                labels.append(value)
    return labels


def _when(parsed: time.struct_time | None) -> datetime | None:
    """A feedparser date (a UTC ``struct_time``) as an aware UTC datetime."""
    if not parsed:
        return None
    try:
        return datetime(*parsed[:5], min(parsed[5], 59), tzinfo=UTC)
    except (TypeError, ValueError):
        return None
