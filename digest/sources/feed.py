"""RSS (0.9x, 1.0, 2.0) and Atom feeds → items, through feedparser.

feedparser already copes with the many dialects and broken feeds of the web and resolves
relative links against xml:base or the feed's URL; this module only decides what an item
is made of and hands every string to ``clean``, so nothing unsanitised leaves it. The bytes
pass ``guard.defuse_xml`` first: feedparser's lenient parser would expand an entity bomb.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from digest.clock import Clock
from digest.config import SourceSettings
from digest.errors import SourceError
from digest.models import Item, Kind
from digest.sources.clean import (
    UNTITLED,
    ThemeMapper,
    fallback_title,
    identity_key,
    is_web_link,
    keyword_text,
    kind_from,
    plain_title,
    sanitize_html,
    shared_identifiers,
    text_to_html,
)
from digest.sources.fetch import Fetched
from digest.sources.guard import defuse_xml


def parse_feed(
    fetched: Fetched, source: SourceSettings, mapper: ThemeMapper, clock: Clock
) -> list[Item]:
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
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=False)
    entries: list[Any] = list(parsed.get("entries", []))
    if not entries:
        if parsed.get("bozo"):
            problem = parsed.get("bozo_exception")
            raise SourceError(f"not a readable feed: {problem or 'unknown parse error'}")
        if not parsed.get("version"):
            raise SourceError("not an RSS or Atom feed")
        return []
    feed_link = str(parsed.get("feed", {}).get("link") or "")
    anchor = fetched.base or (feed_link if is_web_link(feed_link) else None)
    now = clock.now()
    shared = shared_identifiers((str(e.get("id") or ""), _link(e, anchor),
                                 str(e.get("title") or "")) for e in entries)
    items = [_item(entry, source, mapper, anchor, now, shared) for entry in entries]
    return [item for item in items if item is not None]


def _item(
    entry: Mapping[str, Any],
    source: SourceSettings,
    mapper: ThemeMapper,
    anchor: str | None,
    now: datetime,
    shared: frozenset[str],
) -> Item | None:
    link = _link(entry, anchor)
    summary_html = sanitize_html(_summary(entry), anchor)
    title = plain_title(str(entry.get("title") or "")) or fallback_title(summary_html, link)
    if title == UNTITLED and not summary_html and link is None:
        return None  # nothing a reader could see or follow
    categories = _categories(entry)
    updated = _when(_own(entry, "updated_parsed"))
    published = _when(_own(entry, "published_parsed")) or updated
    return Item(
        key=identity_key(entry.get("id"), link, title, published, scope=source.id,
                         shared=shared),
        kind=kind_from(categories, source.kind or Kind.NEWS),
        title=title,
        link=link,
        summary_html=summary_html,
        published=published or now,
        themes=mapper.themes_for(categories, source.themes,
                                 keyword_text(title, summary_html)),
        source_id=source.id,
        updated=updated,
    )


def _own(entry: Mapping[str, Any], key: str) -> Any:
    """A value the entry really has: feedparser's ``get`` answers "updated" with
    "published" (and warns) when the entry has no date of its own under that name."""
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def _link(entry: Mapping[str, Any], anchor: str | None) -> str | None:
    """The entry's web link, made absolute; anything that is not http(s) is dropped."""
    raw = str(entry.get("link") or "").strip()
    if raw and anchor and not is_web_link(raw):
        raw = urljoin(anchor, raw)
    return raw if raw and is_web_link(raw) else None


def _summary(entry: Mapping[str, Any]) -> str:
    """The fuller of the entry's content and summary, as HTML."""
    candidates: list[tuple[str, str]] = []
    for content in entry.get("content") or []:
        candidates.append((str(content.get("value") or ""), str(content.get("type") or "")))
        break
    detail = entry.get("summary_detail") or {}
    candidates.append((str(entry.get("summary") or ""), str(detail.get("type") or "")))
    value, media_type = max(candidates, key=lambda pair: len(pair[0].strip()))
    return text_to_html(value) if media_type == "text/plain" else value


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
