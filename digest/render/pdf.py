"""The PDF of an edition or bulletin, through WeasyPrint, from ``templates/pdf/``.

A4 pages with the forum and group in the running header and "Page x of y" at the foot,
headings as bookmarks, clickable links, selectable text, the document's title, author,
subject and language in its metadata, and tagged for accessibility (PDF/UA-1). WeasyPrint
reads nothing from the network: its URL fetcher only opens ``data:`` URLs and files under
the template folders (a stylesheet, a logo); anything else is refused and left out.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from markupsafe import Markup

from digest.config import Settings
from digest.errors import RenderError
from digest.models import Bulletin, Edition, EditionLinks, Item
from digest.render.i18n import N_, translate
from digest.render.templating import render_template, template_dirs
from digest.render.views import bulletin_context, edition_context, merge_sections

EDITION_TEMPLATE = "pdf/edition.html.j2"
BULLETIN_TEMPLATE = "pdf/bulletin.html.j2"
PDF_VARIANT = "pdf/ua-1"

for _name in ("weasyprint", "weasyprint.progress", "fontTools", "fontTools.subset",
              "fontTools.ttLib"):
    logging.getLogger(_name).setLevel(logging.ERROR)


def css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string, safe inside a ``<style>`` element."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ")
               .replace("<", "\\3C ").replace(">", "\\3E "))
    return Markup(f'"{escaped}"')


def page_label(language: str) -> Markup:
    """The CSS ``content`` for "Page x of y" in the reader's language."""
    label = translate(language, N_("Page {page} of {pages}"))
    parts: list[str] = []
    for piece in re.split(r"(\{page\}|\{pages\})", label):
        if piece == "{page}":
            parts.append("counter(page)")
        elif piece == "{pages}":
            parts.append("counter(pages)")
        elif piece:
            parts.append(str(css_string(piece)))
    return Markup(" ".join(parts))


def _weasyprint() -> Any:
    """WeasyPrint, imported on first use (it is slow to load) without its import warnings."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import weasyprint
        import weasyprint.text.ffi  # warns about optional libraries when loaded
        import weasyprint.urls
    return weasyprint


def _fetcher(roots: tuple[Path, ...]) -> Any:
    """A WeasyPrint URL fetcher that opens ``data:`` URLs and files under ``roots`` only."""
    _weasyprint()
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "file":
                path = Path(unquote(urlsplit(url).path)).resolve()
                if not any(path.is_relative_to(root) for root in roots):
                    raise ValueError(f"refused to read {path}: outside the template folders")
            elif scheme != "data":
                raise ValueError(f"refused to fetch {url}: no network access while rendering")
            return super().fetch(url, headers)

    return LocalOnlyFetcher(allowed_protocols={"file", "data"}, timeout=5)


def html_to_pdf(html: str, settings: Settings) -> bytes:
    """Lay out an HTML document as PDF bytes; a failure becomes a ``RenderError``."""
    roots = template_dirs(settings)
    try:
        document = _weasyprint().HTML(string=html, base_url=str(roots[-1]) + "/",
                        url_fetcher=_fetcher(roots))
        # Tagged (PDF/UA-1): a structure tree for screen readers, the title shown as the
        # window title, the language and metadata in XMP.
        pdf = document.write_pdf(pdf_variant=PDF_VARIANT)
    except Exception as exc:
        raise RenderError(f"the PDF could not be rendered: {exc}") from exc
    if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF"):
        raise RenderError("the PDF could not be rendered: WeasyPrint gave no document")
    return pdf


def render_edition_pdf_html(edition: Edition, settings: Settings, links: EditionLinks,
                            extra_items: Sequence[Item] = ()) -> str:
    """The print HTML of an edition (what WeasyPrint lays out), ``extra_items`` included."""
    context = edition_context(edition, settings, links,
                              sections=merge_sections(edition, extra_items))
    context.update(css_string=css_string, page_label=page_label(context["language"]),
                   running_left=settings.site.title, running_right=edition.title,
                   author=settings.site.title)
    return render_template(settings, EDITION_TEMPLATE, context)


def render_bulletin_pdf_html(bulletin: Bulletin, settings: Settings,
                             links: EditionLinks) -> str:
    """The print HTML of a bulletin (what WeasyPrint lays out)."""
    context = bulletin_context(bulletin, settings, links)
    context.update(css_string=css_string, page_label=page_label(bulletin.language),
                   running_left=context["sender_name"], running_right=bulletin.group,
                   author=context["sender_name"])
    return render_template(settings, BULLETIN_TEMPLATE, context)


def render_edition_pdf(edition: Edition, settings: Settings, links: EditionLinks,
                       extra_items: Sequence[Item] = ()) -> bytes:
    """An edition as an A4 PDF: every item, like the web version."""
    return html_to_pdf(render_edition_pdf_html(edition, settings, links, extra_items), settings)


def render_bulletin_pdf(bulletin: Bulletin, settings: Settings, links: EditionLinks) -> bytes:
    """A bulletin as an A4 PDF."""
    return html_to_pdf(render_bulletin_pdf_html(bulletin, settings, links), settings)
