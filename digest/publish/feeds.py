"""Feed entries → the bytes of an Atom or RSS 2.0 feed, through feedgen.

The feed's ``updated`` time comes from its entries, never the clock (only an empty feed
takes the ``now`` it is given), so an unchanged store gives byte-identical files.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from digest.config import Settings
from digest.models import FeedInfo
from digest.publish.entries import FeedEntry

GENERATOR = "forum-digest"
PDF_TYPE = "application/pdf"

# Characters XML 1.0 cannot carry at all; lxml refuses them, so they are dropped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Text XML can carry: characters XML 1.0 forbids (NUL, most C0 controls) dropped."""
    return _XML_INVALID.sub("", text)


def render_feed(feed: FeedInfo, entries: list[FeedEntry], settings: Settings,
                now: datetime) -> bytes:
    """The feed's file, in the format its name says, entries in the order given."""
    site = settings.site
    updated = max((e.updated for e in entries), default=now)
    fg = FeedGenerator()
    fg.id(feed.url)
    fg.title(xml_text(feed.title))
    fg.subtitle(xml_text(feed.description))  # also the RSS channel description
    fg.author({"name": xml_text(site.sender.name)})
    fg.language(site.language)
    fg.generator(GENERATOR)
    fg.docs("https://www.rssboard.org/rss-specification")
    # The self link first; the last link is the one RSS uses as the channel's <link>.
    fg.link(href=feed.url, rel="self", type=feed.media_type)
    fg.link(href=feed.html_url, rel="alternate", type="text/html")
    fg.updated(updated)  # also RSS lastBuildDate: derived from the entries, never the clock
    for entry in entries:
        _add_entry(fg, entry)
    raw = fg.atom_str(pretty=True) if feed.format == "atom" else fg.rss_str(pretty=True)
    return bytes(raw)


def _add_entry(fg: FeedGenerator, entry: FeedEntry) -> None:
    fe = fg.add_entry(order="append")
    fe.id(xml_text(entry.id))
    fe.title(xml_text(entry.title).strip() or "(untitled)")
    summary = xml_text(entry.summary_html)
    content = xml_text(entry.content_html)
    link = xml_text(entry.link or "").strip()
    if link:
        fe.link(href=link, rel="alternate", type="text/html")
        if summary:
            fe.summary(summary, type="html")
        if content:
            fe.content(content, type="html")
    else:
        # Atom needs an alternate link or a content element: without a link, the text
        # is the content.
        fe.content(content or summary or html.escape(entry.title), type="html")
    if entry.enclosure is not None:
        # feedgen 1.0 drops rel, type and length from entry links in Atom, so the PDF is
        # written by a small extension, the contract feedgen offers for such additions.
        fe.register_extension("digest_pdf", _PdfEnclosure, atom=True, rss=True)
        fe.digest_pdf.url = xml_text(entry.enclosure[0])
        fe.digest_pdf.length = entry.enclosure[1]
    fe.published(entry.published)
    fe.updated(entry.updated)
    for term, label, scheme in entry.categories:
        category = {"term": xml_text(term), "label": xml_text(label)}
        if scheme:
            category["scheme"] = scheme
        fe.category(category)


class _PdfEnclosure(BaseEntryExtension):  # type: ignore[misc]
    """An entry's PDF: ``<link rel="enclosure">`` in Atom, ``<enclosure>`` in RSS."""

    def __init__(self) -> None:
        self.url = ""
        self.length = 0

    def extend_atom(self, entry: Any) -> Any:
        xml_elem("link", entry, href=self.url, rel="enclosure", type=PDF_TYPE,
                   length=str(self.length))
        return entry

    def extend_rss(self, item: Any) -> Any:
        xml_elem("enclosure", item, url=self.url, length=str(self.length), type=PDF_TYPE)
        return item
