"""The HTML of the feeds: the page that lists them and the openings of entries, from the
templates in ``templates/feeds`` and ``templates/web``.

``FeedTemplates`` is what the feeds job gives ``publish_feeds`` (``publish.FeedMarkup``):
the publish stage decides what goes in which feed, this module how it reads, with dates
written as the emails write them (``digest.dates``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from digest.config import Settings
from digest.dates import format_event_dates_with_zone
from digest.links import feeds_index_url
from digest.models import Bulletin, EditionLinks, FeedInfo, Item
from digest.render.i18n import N_, translate
from digest.render.templating import base_context, render_template

FEEDS_TEMPLATE = "web/feeds.html.j2"
EVENT_NOTE_TEMPLATE = "feeds/event_note.html.j2"
BULLETIN_SUMMARY_TEMPLATE = "feeds/bulletin_summary.html.j2"
BULLETIN_CONTENT_TEMPLATE = "feeds/bulletin_content.html.j2"


def render_feeds_index(feeds: Sequence[FeedInfo], settings: Settings,
                       language: str | None = None) -> str:
    """The page that lists every feed (``feeds/index.html``), each theme once with its
    formats, and tells feed readers where the feeds are (autodiscovery links)."""
    context = base_context(settings, language)
    lang = context["language"]
    groups: dict[str, list[FeedInfo]] = {}
    for feed in feeds:
        groups.setdefault(feed.stem, []).append(feed)
    context.update(
        subject=f"{settings.site.title}: {translate(lang, N_('Feeds'))}",
        preheader=translate(lang, N_("Follow the forum in any feed reader: pick a theme, "
                                     "everything, or the bulletins.")),
        links=EditionLinks(web_url=feeds_index_url(settings), archive_url="", pdf_url=""),
        feeds=list(feeds),
        groups=[{"label": listed[0].label, "feeds": listed} for listed in groups.values()],
        opml_url=feeds_index_url(settings) + "index.opml",
    )
    return render_template(settings, FEEDS_TEMPLATE, context)


@dataclass(frozen=True)
class FeedTemplates:
    """The renderers' answer to ``publish.FeedMarkup`` for one site's settings."""

    settings: Settings

    def index_page(self, catalogue: Sequence[FeedInfo]) -> str:
        """The feeds index page."""
        return render_feeds_index(catalogue, self.settings)

    def event_note(self, item: Item) -> str:
        """When (with the zone's name for a timed event) and where an event happens."""
        if item.event is None:
            return ""
        context = base_context(self.settings)
        context.update(when=format_event_dates_with_zone(item.event, context["language"],
                                                         self.settings.site.zone),
                       location=item.event.location)
        return render_template(self.settings, EVENT_NOTE_TEMPLATE, context)

    def bulletin_summary(self, bulletin: Bulletin) -> str:
        """The bulletin's introduction and the titles of its sections."""
        intro = bulletin.intro_html if bulletin.intro_html.strip() else ""
        return render_template(self.settings, BULLETIN_SUMMARY_TEMPLATE, {
            "intro_html": intro, "titles": [s.title for s in bulletin.sections if s.title]})

    def bulletin_content(self, bulletin: Bulletin) -> str:
        """The bulletin as a feed reader shows it: a reader needs no click to read it."""
        intro = bulletin.intro_html if bulletin.intro_html.strip() else ""
        return render_template(self.settings, BULLETIN_CONTENT_TEMPLATE, {
            "intro_html": intro, "sections": bulletin.sections})
