"""JSON Feed (1.0 and 1.1, https://jsonfeed.org/version/1.1) → items, with the standard
``json`` module.

A JSON Feed item says the same things an Atom entry does under other names: ``id`` (the
guid), ``url`` (else ``external_url``), ``title`` (optional: microblogs have none),
``content_html`` / ``content_text`` / ``summary``, ``date_published`` / ``date_modified``
(RFC 3339) and ``tags``. Relative URLs resolve against the feed's own address (or its
``feed_url`` / ``home_page_url`` when read from a file).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

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

VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json_feed(fetched: Fetched) -> bool:
    """Whether a document is JSON rather than XML: by its media type, else its first byte."""
    media_type = (fetched.content_type or "").split(";")[0].strip().lower()
    if media_type in {"application/feed+json", "application/json"}:
        return True
    return fetched.data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(
    fetched: Fetched, source: SourceSettings, mapper: ThemeMapper, clock: Clock
) -> list[Item]:
    """Every item of a JSON Feed, in the feed's order."""
    document = _load(fetched.data)
    version = str(document.get("version") or "")
    if not version.startswith(VERSION_PREFIX):
        raise SourceError(f"not a JSON Feed (version {version or 'missing'!r})")
    entries = document.get("items")
    if not isinstance(entries, list):
        raise SourceError("a JSON Feed needs an items list")
    anchor = fetched.base or next(
        (str(document[key]) for key in ("feed_url", "home_page_url")
         if isinstance(document.get(key), str) and is_web_link(str(document[key]))), None)
    now = clock.now()
    readable = [entry for entry in entries if isinstance(entry, Mapping)]
    shared = shared_identifiers(
        (_text(e, "id"), _link(_text(e, "url") or _text(e, "external_url"), anchor),
         _string(e, "title")) for e in readable)
    items = [_item(entry, source, mapper, anchor, now, shared) for entry in readable]
    return [item for item in items if item is not None]


def _load(data: bytes) -> Mapping[str, Any]:
    text = data.decode("utf-8-sig", errors="replace")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SourceError(f"not readable JSON: {str(exc)[:200]}") from None
    if not isinstance(document, Mapping):
        raise SourceError("not a JSON Feed (the document is not an object)")
    return document


def _text(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    return str(value) if isinstance(value, str | int | float) else ""


def _string(entry: Mapping[str, Any], key: str) -> str:
    """A field the spec says is a string; anything else (``1e999`` → ``inf``) is absent."""
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _item(entry: Mapping[str, Any], source: SourceSettings, mapper: ThemeMapper,
          anchor: str | None, now: datetime, shared: frozenset[str]) -> Item | None:
    link = _link(_text(entry, "url") or _text(entry, "external_url"), anchor)
    summary_html = sanitize_html(_content(entry), anchor)
    title = plain_title(_string(entry, "title")) or fallback_title(summary_html, link)
    if title == UNTITLED and not summary_html and link is None:
        return None
    tags = [str(tag).strip() for tag in entry.get("tags") or [] if isinstance(tag, str)]
    updated = _when(_text(entry, "date_modified"))
    published = _when(_text(entry, "date_published")) or updated
    return Item(
        key=identity_key(_text(entry, "id") or None, link, title, published,
                         scope=source.id, shared=shared),
        kind=kind_from(tags, source.kind or Kind.NEWS),
        title=title,
        link=link,
        summary_html=summary_html,
        published=published or now,
        themes=mapper.themes_for(tags, source.themes, keyword_text(title, summary_html)),
        source_id=source.id,
        updated=updated,
    )


def _link(raw: str, anchor: str | None) -> str | None:
    raw = raw.strip()
    if raw and anchor and not is_web_link(raw):
        raw = urljoin(anchor, raw)
    return raw if raw and is_web_link(raw) else None


def _content(entry: Mapping[str, Any]) -> str:
    """HTML content, else text content, else the summary (JSON Feed's summary is text)."""
    if html := _text(entry, "content_html").strip():
        return html
    for key in ("content_text", "summary"):
        if text := _text(entry, key).strip():
            return text_to_html(text)
    return ""


def _when(text: str) -> datetime | None:
    """An RFC 3339 date as an aware UTC datetime (a date without a zone is read as UTC)."""
    if not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or one at the calendar's very edge
        return None
