"""What the templates are given: the edition or bulletin plus the values every form shares.

The email, text, web and PDF renderers all build their context here, so a digest reads the
same in every form: the same subject, the same sections in the same order, the same dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from digest.config import Settings
from digest.dates import format_date_range, format_event_dates, format_long_date, titled_range
from digest.models import (
    SECTION_TITLES,
    Bulletin,
    BulletinSection,
    Edition,
    EditionLinks,
    Item,
    Kind,
    Section,
)
from digest.render.i18n import N_, section_label, translate
from digest.render.templating import base_context
from digest.theme_titles import titles_of

_UPCOMING = re.compile(r"^\s*(upcoming|coming up|agenda|next meetings)", re.IGNORECASE)
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
PREHEADER_LENGTH = 140


def safe_url(url: str | None) -> str:
    """A link fit for an ``href``: http(s) or mailto, else empty (shown without a link)."""
    if not url:
        return ""
    url = url.strip()
    return url if url.lower().startswith(_SAFE_SCHEMES) else ""


def edition_date(edition: Edition, settings: Settings, language: str) -> str:
    """The date an edition is known by: its slot, in the site's time zone."""
    return format_long_date(edition.slot, language, settings.site.zone)


def edition_subject(edition: Edition, settings: Settings, language: str) -> str:
    """"Social Affairs weekly #1 – 18 March 2019": the email's subject and every form's
    title, so a reader finds one edition by the same words in the inbox, the web and the
    PDF."""
    return f"{edition.title} #{edition.number} – {edition_date(edition, settings, language)}"


def _shorten(parts: Iterable[str], limit: int = PREHEADER_LENGTH) -> str:
    text = ""
    for part in parts:
        candidate = f"{text} · {part}" if text else part
        if len(candidate) > limit:
            if not text:
                text = part[: limit - 1].rstrip() + "…"
            break
        text = candidate
    return " ".join(text.split())


def edition_preheader(edition: Edition) -> str:
    """The preview line mail clients show after the subject: the first items' titles."""
    return _shorten(item.title for item in edition.items)


def bulletin_dates(bulletin: Bulletin, language: str) -> str:
    """The days a bulletin covers ("25–27 March 2019"), in its own language: the part of
    its subject and dateline that says when."""
    return format_date_range(bulletin.start_date, bulletin.end_date, language)


def bulletin_dateline(bulletin: Bulletin) -> str:
    """"25–27 March 2019, Glasgow": when and where the bulletin was written for."""
    dates = bulletin_dates(bulletin, bulletin.language)
    return f"{dates}, {bulletin.place}" if bulletin.place else dates


def bulletin_subject(bulletin: Bulletin) -> str:
    """The bulletin's title and dates: its email's subject and its pages' title, so every
    form of one bulletin is known by the same words."""
    return titled_range(bulletin.title, bulletin_dates(bulletin, bulletin.language))


def bulletin_sender(bulletin: Bulletin, settings: Settings) -> str:
    """Who a bulletin is from: its own forum (members know the forum, not the tool's
    site), else the site's title; its footers and its From display name say it."""
    return bulletin.forum.strip() or settings.site.title


def bulletin_preheader(bulletin: Bulletin) -> str:
    """The preview line mail clients show after the subject: the sections' titles, which
    say what the bulletin is about better than its introduction's greeting."""
    return _shorten(section.title for section in bulletin.sections)


def event_line(item: Item, settings: Settings, language: str) -> str:
    """"25–27 March 2019, Glasgow" for an event item, else its publication date."""
    if item.event is None:
        return format_long_date(item.published, language, settings.site.zone)
    when = format_event_dates(item.event, language, settings.site.zone)
    return f"{when}, {item.event.location}" if item.event.location else when


@dataclass(frozen=True)
class UpcomingEvent:
    """An event a bulletin lists among its upcoming meetings: its title, its link (empty:
    shown without one) and when and where it happens."""

    title: str
    link: str
    when: str


@dataclass(frozen=True)
class SectionView:
    """A bulletin section as the templates show it, through the ``section_body`` macro
    (``shared/_bulletin_section.html.j2``): its own body, or, with ``upcoming`` events, its
    ``lead_html`` then one list of its closing list's items (if any) and the events."""

    number: int | None
    title: str
    body_html: Markup
    upcoming: tuple[UpcomingEvent, ...]
    lead_html: Markup
    list_items_html: Markup


def _upcoming_events(events: Sequence[Item], body_text: str, settings: Settings,
                     language: str) -> tuple[UpcomingEvent, ...]:
    """The events to add, leaving out those the coordinator already wrote about."""
    return tuple(UpcomingEvent(event.title, safe_url(event.link),
                               event_line(event, settings, language))
                 for event in events if event.title.casefold() not in body_text)


def _section_view(section: BulletinSection, upcoming: tuple[UpcomingEvent, ...] = ()
                  ) -> SectionView:
    """The view of a section, with the events that join its list (if any)."""
    return SectionView(section.number, section.title, Markup(section.body_html), upcoming,
                       Markup(section.lead_html), Markup(section.list_items_html))


def bulletin_sections(bulletin: Bulletin, settings: Settings) -> tuple[SectionView, ...]:
    """The bulletin's sections, with its ``upcoming`` events added to the list of its
    "Upcoming meetings and activities" section (made when the bulletin has none)."""
    sections = list(bulletin.sections)
    if not bulletin.upcoming:
        return tuple(_section_view(s) for s in sections)
    index = next((i for i, s in enumerate(sections) if _UPCOMING.match(s.title)), None)
    if index is None:
        title = translate(bulletin.language, N_("Upcoming meetings and activities"))
        sections.append(BulletinSection(title=title, body_html=""))
        index = len(sections) - 1
    body_text = re.sub(r"<[^>]+>", " ", sections[index].body_html).casefold()
    upcoming = _upcoming_events(bulletin.upcoming, body_text, settings, bulletin.language)
    return tuple(_section_view(s, upcoming if i == index else ())
                 for i, s in enumerate(sections))


def merge_sections(edition: Edition, extra_items: Sequence[Item] = ()) -> tuple[Section, ...]:
    """The edition's sections with its ``overflow`` and ``extra_items`` (items cut by
    ``max_items``) added to the section of their kind, for the web version and PDF; one
    pass, so the cost stays linear in the number of items."""
    extra_items = (*edition.overflow, *extra_items)
    if not extra_items:
        return edition.sections
    known = {item.key for item in edition.items}
    by_kind: dict[Kind, list[Item]] = {s.kind: list(s.items) for s in edition.sections}
    titles = {s.kind: s.title for s in edition.sections}
    for item in extra_items:
        if item.key not in known:
            known.add(item.key)
            by_kind.setdefault(item.kind, []).append(item)
    return tuple(Section(kind=kind, title=titles.get(kind, SECTION_TITLES[kind]),
                         items=tuple(listed))
                 for kind, listed in by_kind.items())


@dataclass(frozen=True)
class ItemView:
    """One item as every form shows it."""

    item: Item
    title: str
    link: str
    when: str
    themes: tuple[str, ...]
    summary_html: Markup


def item_view(item: Item, settings: Settings, language: str) -> ItemView:
    """One item with its link made safe, its date line and its themes' titles worked out
    once here, so no form's template decides them differently."""
    return ItemView(item=item, title=item.title, link=safe_url(item.link),
                    when=event_line(item, settings, language),
                    themes=tuple(titles_of(settings, item.themes, language)),
                    summary_html=Markup(item.summary_html))


def section_views(sections: Sequence[Section], settings: Settings,
                  language: str) -> list[dict[str, Any]]:
    """The sections that have items, each titled in the reader's language: an empty
    section would be a heading with nothing under it."""
    return [
        {"kind": str(s.kind), "title": section_label(s.kind, language),
         "items": [item_view(i, settings, language) for i in s.items]}
        for s in sections if s.items
    ]


def edition_context(edition: Edition, settings: Settings, links: EditionLinks,
                    language: str | None = None,
                    sections: Sequence[Section] | None = None) -> dict[str, Any]:
    """Everything an edition template needs."""
    context = base_context(settings, language)
    lang = context["language"]
    shown = edition.sections if sections is None else sections
    context.update(
        edition=edition,
        links=links,
        subject=edition_subject(edition, settings, lang),
        preheader=edition_preheader(edition),
        edition_date=edition_date(edition, settings, lang),
        sections=section_views(shown, settings, lang),
        omitted=edition.omitted if sections is None else 0,
        unlisted=edition.unlisted,
        note_html=Markup(edition.note_html),  # sanitised when the jobs made it
        member_themes=variant_themes(edition, settings, lang),
    )
    return context


def variant_themes(edition: Edition, settings: Settings, language: str) -> list[str]:
    """The titles of the themes a variant's members chose, in the config's order (none for
    the full edition): the footer says them, so a member who gets fewer items knows why."""
    if not edition.themes:
        return []
    known = [slug for slug in settings.themes if slug in edition.themes]
    return titles_of(settings, [*known, *sorted(edition.themes - set(known))], language)


def bulletin_context(bulletin: Bulletin, settings: Settings,
                     links: EditionLinks) -> dict[str, Any]:
    """Everything a bulletin template needs."""
    context = base_context(settings, bulletin.language)
    context.update(
        bulletin=bulletin,
        links=links,
        subject=bulletin_subject(bulletin),
        sender_name=bulletin_sender(bulletin, settings),
        preheader=bulletin_preheader(bulletin),
        dateline=bulletin_dateline(bulletin),
        dates=bulletin_dates(bulletin, bulletin.language),
        sections=bulletin_sections(bulletin, settings),
        intro_html=Markup(bulletin.intro_html),
        footer_html=Markup(bulletin.footer_html),
        theme_labels=titles_of(settings, [s for s in bulletin.themes if s in settings.themes],
                               bulletin.language),
    )
    return context
