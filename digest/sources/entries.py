"""One entry of a listing (an RSS item, an Atom entry, a JSON Feed item) → an ``Item``.

RSS, Atom and JSON Feed say the same things under other names: an id, a link, a title,
some HTML, categories and two dates. Each format's module reads those into an ``Entry``;
this module alone decides what an item is made of (the fallback title, the kind, the
themes, the identity key), so the formats cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urljoin

from digest.models import Item, Kind
from digest.sources.clean.identity import (
    identity_key,
    is_web_link,
    shared_identifiers,
)
from digest.sources.clean.markup import UNTITLED, fallback_title, plain_title, sanitize_html
from digest.sources.clean.themes import keyword_text, kind_from
from digest.sources.parsed import Parsed, left_out
from digest.sources.reader import Listing

FUTURE_SLACK = timedelta(days=1)
"""How far ahead of now an entry's date is still believed (a zone written wrong is at
most 14 hours off); a later date is taken as no date."""


@dataclass(frozen=True)
class Entry:
    """An entry as its format gave it, not yet cleaned: ``title`` and ``content_html`` raw,
    ``link`` already absolute http(s) (``web_link``) or None, dates aware UTC or None.
    ``content_base``: what the content's relative links resolve against when the document
    says (an ``xml:base`` on the entry), instead of the listing's anchor."""

    guid: str
    link: str | None
    title: str
    content_html: str
    categories: Sequence[str]
    published: datetime | None
    updated: datetime | None
    content_base: str | None = None


def web_link(raw: str, anchor: str | None) -> str | None:
    """An entry's link made absolute against ``anchor``; anything not http(s) is dropped,
    and so is a link that cannot be read (``urljoin`` raises on ``//[::1/x``)."""
    raw = raw.strip()
    if raw and anchor and not is_web_link(raw):
        try:
            raw = urljoin(anchor, raw)
        except ValueError:
            return None
    return raw if raw and is_web_link(raw) else None


def items_of(entries: Sequence[Entry], anchor: str | None, listing: Listing, *,
             total: int | None = None) -> Parsed:
    """Every entry as an item, in the listing's order; an entry with nothing a reader could
    see or follow (no title, no text, no link) is left out, and so are the entries past
    ``listing.max_items`` (one problem says how many). ``total``: how many entries the
    listing has, when its reader made an ``Entry`` of the first ``max_items`` only
    , as readers do: a feed of 100 000 entries costs what is kept."""
    extra = (len(entries) if total is None else total) - listing.max_items
    entries = entries[:listing.max_items]
    shared = shared_identifiers((entry.guid, entry.link, entry.title) for entry in entries)
    items = [_item(entry, anchor, shared, listing) for entry in entries]
    return Parsed([item for item in items if item is not None],
                  [left_out(extra, listing.max_items, "entries")] if extra > 0 else [])


def _item(entry: Entry, anchor: str | None, shared: frozenset[str],
          listing: Listing) -> Item | None:
    base = entry.content_base if entry.content_base and is_web_link(entry.content_base) \
        else anchor
    summary_html = sanitize_html(entry.content_html, base)
    title = plain_title(entry.title) or fallback_title(summary_html, entry.link)
    if title == UNTITLED and not summary_html and entry.link is None:
        return None
    given = entry.published or entry.updated
    # A date past tomorrow is a mistake or a ploy: taken as given, the entry would head
    # every list sorted newest first (the theme feeds, the console) until that date.
    published = given if given is None or given <= listing.now + FUTURE_SLACK else None
    return Item(
        key=identity_key(entry.guid or None, entry.link, title, given,
                         scope=listing.source_id, shared=shared),
        kind=kind_from(entry.categories, listing.kind or Kind.NEWS),
        title=title,
        link=entry.link,
        summary_html=summary_html,
        published=published or listing.now,
        themes=listing.mapper.themes_for(entry.categories, listing.themes,
                                         keyword_text(title, summary_html)),
        source_id=listing.source_id,
        updated=entry.updated,
        undated=published is None,
    )
