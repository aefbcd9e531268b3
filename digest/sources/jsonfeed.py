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
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from digest.dates import as_aware, parse_iso
from digest.errors import SourceError
from digest.sources.clean.identity import is_web_link
from digest.sources.clean.markup import text_to_html
from digest.sources.entries import Entry, items_of, web_link
from digest.sources.fetched import Fetched
from digest.sources.parsed import Parsed
from digest.sources.reader import Listing

VERSION_PREFIX = "https://jsonfeed.org/version/"
MAX_DEPTH = 64
"""The deepest nesting read: a JSON Feed needs about five levels; the standard parser
would give up at Python's recursion limit, in Python's words."""
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


def looks_like_json_feed(fetched: Fetched) -> bool:
    """Whether a document is JSON rather than XML: by its media type, else its first byte."""
    media_type = (fetched.content_type or "").split(";")[0].strip().lower()
    if media_type in {"application/feed+json", "application/json"}:
        return True
    return fetched.data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def read_json_feed(fetched: Fetched, listing: Listing) -> Parsed:
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
    readable = [entry for entry in entries if isinstance(entry, Mapping)]
    return items_of([_entry(entry, anchor) for entry in readable[:listing.max_items]],
                    anchor, listing, total=len(readable))


def _depth(data: bytes) -> int:
    """How deep arrays and objects nest, brackets inside strings not counted."""
    deepest = depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b"", data)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _load(data: bytes) -> Mapping[str, Any]:
    if _depth(data) > MAX_DEPTH:
        raise SourceError(f"not readable JSON: nested deeper than {MAX_DEPTH} levels")
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


def _entry(entry: Mapping[str, Any], anchor: str | None) -> Entry:
    return Entry(
        guid=_text(entry, "id"),
        link=web_link(_text(entry, "url") or _text(entry, "external_url"), anchor),
        title=_string(entry, "title"),
        content_html=_content(entry),
        categories=[str(tag).strip() for tag in entry.get("tags") or []
                    if isinstance(tag, str)],
        published=_when(_text(entry, "date_published")),
        updated=_when(_text(entry, "date_modified")),
    )


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
        moment = parse_iso(text.replace("z", "Z"), with_time=True)
        return as_aware(moment, UTC).astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or one at the calendar's very edge
        return None
