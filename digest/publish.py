"""Publish the stored items as feeds: Atom and RSS per theme, one of everything, one of
bulletins, an OPML list of them all and a small HTML index with autodiscovery links.

Everything written here is a pure function of its inputs (items, bulletins, settings and the
``now`` used only when a feed is empty), so publishing an unchanged store gives byte-identical
files: feed readers and caches see no change, and an unchanged file is not even rewritten.
Every file is replaced atomically (temporary file in the same folder, fsync, ``os.replace``),
so a reader never sees half a feed.

Entry ids are derived from ``Item.key`` only (see ``entry_id``), so an item keeps its id
when it is re-collected, updated or reached through another source.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from feedgen.ext.base import BaseEntryExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from digest.config import RESERVED_THEME_SLUGS, Settings
from digest.dates import format_event_dates
from digest.errors import PublishError
from digest.files import write_if_changed
from digest.models import SECTION_TITLES, Bulletin, Item, Kind

__all__ = [
    "BulletinEntry",
    "FeedInfo",
    "entry_id",
    "feed_catalogue",
    "publish_feeds",
]

KIND_SCHEME = "urn:digest:kind"
"""The Atom category scheme (RSS category domain) that marks an entry's kind."""

GENERATOR = "forum-digest"
RESERVED_NAMES = RESERVED_THEME_SLUGS  # refused by the config already; kept as a guard
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
PDF_TYPE = "application/pdf"

# Characters XML 1.0 cannot carry at all; lxml refuses them, so they are dropped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class BulletinEntry:
    """A bulletin as it appears in the bulletins feed, with where its web and PDF forms live."""

    bulletin: Bulletin
    web_url: str
    pdf_url: str
    pdf_size: int
    published: datetime


@dataclass(frozen=True)
class FeedInfo:
    """One published feed: its file name, title, media type and public URLs."""

    name: str
    title: str
    label: str
    description: str
    media_type: str
    url: str
    html_url: str

    @property
    def format(self) -> str:
        """``atom`` or ``rss``."""
        return "atom" if self.media_type == ATOM_TYPE else "rss"

    @property
    def format_label(self) -> str:
        return "Atom" if self.media_type == ATOM_TYPE else "RSS"


@dataclass(frozen=True)
class _Entry:
    """What one feed entry says, whichever format it is written in."""

    id: str
    title: str
    link: str | None
    summary_html: str
    published: datetime
    updated: datetime
    categories: tuple[tuple[str, str, str | None], ...]  # term, label, scheme
    enclosure: tuple[str, int] | None = None  # PDF URL, size in bytes


# ------------------------------------------------------------------------------ public API


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


def feed_catalogue(settings: Settings) -> list[FeedInfo]:
    """Every feed ``publish_feeds`` writes, in the order they are listed in OPML and HTML."""
    base = settings.site.base_url
    site = settings.site.title
    feeds: list[FeedInfo] = []

    def add(stem: str, label: str, description: str, *, rss: bool = True) -> None:
        for media_type, extension in ((ATOM_TYPE, "atom"), (RSS_TYPE, "rss")):
            if extension == "rss" and not rss:
                continue
            name = f"{stem}.{extension}"
            feeds.append(FeedInfo(name, f"{site}: {label}", label, description, media_type,
                                  _feed_url(base, name), base + "/"))

    add("all", "Everything", f"Everything new at {site}")
    for slug, theme in settings.themes.items():
        add(slug, theme.title, f"What is new at {site} about {theme.title}")
    add("bulletins", "Bulletins", f"The working-group bulletins of {site}", rss=False)
    return feeds


def publish_feeds(
    items: Sequence[Item],
    bulletins: Sequence[BulletinEntry],
    settings: Settings,
    now: datetime,
) -> list[Path]:
    """Write every feed, ``index.opml`` and ``index.html`` into ``settings.feeds_dir``.

    ``now`` is only the ``updated`` time of a feed with no entries. Returns the paths, in
    writing order; raises ``PublishError`` for anything that stops a file being written.
    """
    if now.tzinfo is None:
        raise PublishError(f"publish_feeds needs an aware time, got {now.isoformat()}")
    clashes = sorted(set(settings.themes) & RESERVED_NAMES)
    if clashes:
        raise PublishError(
            f"theme slug {clashes[0]!r} would overwrite the feed of the same name; "
            f"rename the theme (reserved: {', '.join(sorted(RESERVED_NAMES))})"
        )
    try:
        return _publish(items, bulletins, settings, now.astimezone(UTC))
    except PublishError:
        raise
    except (OSError, ValueError, TypeError, ElementTree.ParseError) as exc:
        raise PublishError(f"could not publish feeds to {settings.feeds_dir}: {exc}") from exc


# ------------------------------------------------------------------------------ building


def _publish(items: Sequence[Item], bulletins: Sequence[BulletinEntry], settings: Settings,
             now: datetime) -> list[Path]:
    limit = settings.feeds.entries
    labels = {slug: theme.title for slug, theme in settings.themes.items()}
    # The same item given twice (it should not be) still appears once: the latest wins.
    unique: dict[str, tuple[_Entry, Item]] = {}
    for item in items:
        entry = _item_entry(item, labels, settings.site.language, settings.site.zone)
        known = unique.get(entry.id)
        if known is None or entry.updated >= known[0].updated:
            unique[entry.id] = (entry, item)
    pairs = list(unique.values())
    bulletin_entries = {e.id: e for e in (_bulletin_entry(b, labels) for b in bulletins)}

    # One content set per feed stem; feed_catalogue gives titles and order.
    contents: dict[str, list[_Entry]] = {"all": _newest(e for e, _ in pairs)[:limit]}
    for slug in settings.themes:
        contents[slug] = _newest(e for e, item in pairs if slug in item.themes)[:limit]
    contents["bulletins"] = _newest(bulletin_entries.values())[:limit]

    catalogue = feed_catalogue(settings)
    written: list[Path] = []
    directory = settings.feeds_dir
    newest = now
    for feed in catalogue:
        stem = feed.name.rsplit(".", 1)[0]
        data = _render_feed(feed, contents[stem], settings, now)
        path = directory / feed.name
        write_if_changed(path, data)
        written.append(path)
    all_entries = contents["all"] + contents["bulletins"]
    if all_entries:
        newest = max(entry.updated for entry in all_entries)
    for name, data in (("index.opml", _opml(catalogue, settings, newest)),
                       ("index.html", _index_html(catalogue, settings))):
        path = directory / name
        write_if_changed(path, data)
        written.append(path)
    return written


def _newest(entries: Iterable[_Entry]) -> list[_Entry]:
    """Newest first by publication; ties broken by id so the order never wavers."""
    ordered = sorted(entries, key=lambda e: e.id)
    return sorted(ordered, key=lambda e: e.published, reverse=True)


def _item_entry(item: Item, labels: dict[str, str], language: str, zone: Any) -> _Entry:
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
    return _Entry(
        id=entry_id(item.key),
        title=item.title,
        link=item.link,
        summary_html=summary,
        published=published,
        updated=max(published, updated),
        categories=tuple(categories),
    )


def _bulletin_entry(entry: BulletinEntry, labels: dict[str, str]) -> _Entry:
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
    return _Entry(
        id=bulletin_id(bulletin.slug),
        title=bulletin.title,
        link=entry.web_url,
        summary_html="".join(parts),
        published=published,
        updated=published,
        categories=tuple(categories),
        enclosure=(entry.pdf_url, max(0, int(entry.pdf_size))),
    )


def _render_feed(feed: FeedInfo, entries: list[_Entry], settings: Settings,
                 now: datetime) -> bytes:
    site = settings.site
    updated = max((e.updated for e in entries), default=now)
    fg = FeedGenerator()
    fg.id(feed.url)
    fg.title(_xml(feed.title))
    fg.subtitle(_xml(feed.description))  # also the RSS channel description
    fg.author({"name": _xml(site.sender.name)})
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


def _add_entry(fg: FeedGenerator, entry: _Entry) -> None:
    fe = fg.add_entry(order="append")
    fe.id(_xml(entry.id))
    fe.title(_xml(entry.title).strip() or "(untitled)")
    summary = _xml(entry.summary_html)
    link = _xml(entry.link or "").strip()
    if link:
        fe.link(href=link, rel="alternate", type="text/html")
        if summary:
            fe.summary(summary, type="html")
    else:
        # Atom needs an alternate link or a content element: without a link, the text
        # is the content.
        fe.content(summary or html.escape(entry.title), type="html")
    if entry.enclosure is not None:
        # feedgen 1.0 drops rel, type and length from entry links in Atom, so the PDF is
        # written by a small extension, the contract feedgen offers for such additions.
        fe.register_extension("digest_pdf", _PdfEnclosure, atom=True, rss=True)
        fe.digest_pdf.url = _xml(entry.enclosure[0])
        fe.digest_pdf.length = entry.enclosure[1]
    fe.published(entry.published)
    fe.updated(entry.updated)
    for term, label, scheme in entry.categories:
        category = {"term": _xml(term), "label": _xml(label)}
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


def _opml(catalogue: list[FeedInfo], settings: Settings, modified: datetime) -> bytes:
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = _xml(f"{settings.site.title}: feeds")
    ElementTree.SubElement(head, "dateModified").text = format_datetime(modified)
    ElementTree.SubElement(head, "ownerName").text = _xml(settings.site.sender.name)
    ElementTree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ElementTree.SubElement(root, "body")
    for feed in catalogue:
        attributes = {
            "type": "rss",
            "text": _xml(f"{feed.title} ({feed.format_label})"),
            "title": _xml(feed.title),
            "xmlUrl": feed.url,
            "htmlUrl": feed.html_url,
        }
        if feed.format == "rss":
            attributes["version"] = "RSS2"
        ElementTree.SubElement(body, "outline", attributes)
    ElementTree.indent(root)
    data: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _index_html(catalogue: list[FeedInfo], settings: Settings) -> bytes:
    esc: Callable[[str], str] = html.escape
    title = f"{settings.site.title}: feeds"
    opml_url = _feed_url(settings.site.base_url, "index.opml")
    head = "\n".join(
        f'  <link rel="alternate" type="{feed.media_type}" title="{esc(feed.title)} '
        f'({feed.format_label})" href="{esc(feed.url)}">'
        for feed in catalogue
    )
    rows = []
    for stem in dict.fromkeys(feed.name.rsplit(".", 1)[0] for feed in catalogue):
        feeds = [feed for feed in catalogue if feed.name.rsplit(".", 1)[0] == stem]
        links = " · ".join(
            f'<a href="{esc(feed.url)}" type="{feed.media_type}">{feed.format_label}</a>'
            for feed in feeds
        )
        rows.append(f"    <li>{esc(feeds[0].label)}: {links}</li>")
    page = f"""<!DOCTYPE html>
<html lang="{esc(settings.site.language)}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{esc(title)}</title>
{head}
  <link rel="outline" type="text/x-opml" title="All feeds (OPML)" href="{esc(opml_url)}">
  <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5}}</style>
</head>
<body>
  <h1>{esc(title)}</h1>
  <p>Follow the forum in any feed reader: pick a theme, everything, or the bulletins.
  To follow them all at once, import the <a href="{esc(opml_url)}">OPML list</a>.</p>
  <ul>
{chr(10).join(rows)}
  </ul>
</body>
</html>
"""
    return page.encode("utf-8")


# ------------------------------------------------------------------------------ helpers


def _feed_url(base_url: str, name: str) -> str:
    return f"{base_url.rstrip('/')}/feeds/{name}"


def _xml(text: str) -> str:
    """Text XML can carry: characters XML 1.0 forbids (NUL, most C0 controls) dropped."""
    return _XML_INVALID.sub("", text)


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PublishError(f"{what}: naive datetime {value.isoformat()} (a time zone is needed)")
    return value.astimezone(UTC)


def _event_html(item: Item, language: str, zone: Any) -> str:
    """A first paragraph saying when and where an event happens, the date written as the
    emails write it (``digest.dates``), with the zone's name for a timed event, since a
    feed reader may be anywhere."""
    assert item.event is not None
    event = item.event
    when = format_event_dates(event, language, zone)
    if isinstance(event.start, datetime):
        when += f" ({_zone_name(event.start.astimezone(zone))})"
    text = f"<strong>When:</strong> {html.escape(when)}"
    if event.location:
        text += f"<br><strong>Where:</strong> {html.escape(event.location)}"
    return f'<p class="event-when">{text}</p>'


def _zone_name(moment: datetime) -> str:
    return moment.tzname() or moment.strftime("%z")
