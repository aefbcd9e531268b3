"""The web version (``index.html``): a plain, responsive HTML5 page, also used by the archive.

Unlike the email it lists everything, including the items an email cut at ``max_items``
(give them as ``extra_items``), links to the PDF, and holds no per-recipient placeholders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from digest.config import Settings
from digest.dates import format_date_range, format_long_date
from digest.errors import RenderError
from digest.models import PLACEHOLDERS, Bulletin, Edition, EditionLinks, Item
from digest.render.i18n import N_, translate
from digest.render.templating import base_context, render_template, with_bulletins_feed
from digest.render.views import bulletin_context, edition_context, merge_sections

EDITION_TEMPLATE = "web/edition.html.j2"
BULLETIN_TEMPLATE = "web/bulletin.html.j2"
ARCHIVE_TEMPLATE = "web/archive.html.j2"


@dataclass(frozen=True)
class ArchiveEntry:
    """One edition or bulletin as its archive page lists it (newest first)."""

    title: str
    when: date | datetime
    web_url: str
    pdf_url: str
    number: int | None = None
    items: int | None = None
    end: date | None = None  # a bulletin's last day, its group and place, when it is one
    group: str = ""
    place: str | None = None


def _no_placeholders(html: str, what: str) -> str:
    for marker in PLACEHOLDERS.values():
        if marker in html:
            raise RenderError(f"{what}: the web version must not hold {marker} "
                              "(a per-recipient value); check the web templates")
    return html


def render_edition_web(edition: Edition, settings: Settings, links: EditionLinks,
                       language: str | None = None,
                       extra_items: Sequence[Item] = ()) -> str:
    """The web page of an edition: every item, ``extra_items`` included, in its section."""
    context = edition_context(edition, settings, links, language,
                              sections=merge_sections(edition, extra_items))
    html = render_template(settings, EDITION_TEMPLATE, context)
    return _no_placeholders(html, f"edition {edition.digest_id} #{edition.number}")


def render_bulletin_web(bulletin: Bulletin, settings: Settings, links: EditionLinks) -> str:
    """The web page of a bulletin."""
    context = bulletin_context(bulletin, settings, links)
    with_bulletins_feed(context, settings)
    html = render_template(settings, BULLETIN_TEMPLATE, context)
    return _no_placeholders(html, f"bulletin {bulletin.slug}")


def _archive_date(entry: ArchiveEntry, language: str, settings: Settings) -> str:
    """A bulletin shows the days it covers; an edition the day it went out."""
    if entry.group and isinstance(entry.when, date) and not isinstance(entry.when, datetime):
        return format_date_range(entry.when, entry.end, language)
    return format_long_date(entry.when, language, settings.site.zone)


def render_archive(settings: Settings, title: str, archive_url: str,
                   entries: Sequence[ArchiveEntry], language: str | None = None, *,
                   bulletins: bool = False) -> str:
    """The archive page of a digest (or of the ``bulletins``): every edition, newest first,
    each linked to its web version and PDF. Every email's footer links here."""
    context = base_context(settings, language)
    if bulletins:
        with_bulletins_feed(context, settings)
    lang = context["language"]
    context.update(
        title=title,
        subject=f"{title} – {translate(lang, N_('Archive'))}",
        preheader="",
        links=EditionLinks(web_url=archive_url, archive_url=archive_url, pdf_url=""),
        entries=[{"entry": e, "date": _archive_date(e, lang, settings)} for e in entries],
    )
    html = render_template(settings, ARCHIVE_TEMPLATE, context)
    return _no_placeholders(html, f"archive {title}")
