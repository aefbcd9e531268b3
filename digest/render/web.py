"""The web version (``index.html``): a plain, responsive HTML5 page, also used by the archive.

Unlike the email it lists everything, including the items an email cut at ``max_items``
(give them as ``extra_items``), links to the PDF, and holds no per-recipient placeholders.
"""

from __future__ import annotations

from collections.abc import Sequence

from digest.config import Settings
from digest.errors import RenderError
from digest.models import PLACEHOLDERS, Bulletin, Edition, EditionLinks, Item
from digest.render.templating import render_template
from digest.render.views import bulletin_context, edition_context, merge_sections

EDITION_TEMPLATE = "web/edition.html.j2"
BULLETIN_TEMPLATE = "web/bulletin.html.j2"


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
    html = render_template(settings, BULLETIN_TEMPLATE, bulletin_context(bulletin, settings, links))
    return _no_placeholders(html, f"bulletin {bulletin.slug}")
