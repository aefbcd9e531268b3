"""The HTML email: Jinja2 → MJML → HTML (mjml-python) → CSS inlined (premailer).

Rendered once per variant; the per-recipient values (unsubscribe and preferences links)
stay as the markers of ``digest.models.PLACEHOLDERS`` in both the HTML and the text part,
for ``digest.mail`` to substitute. premailer is set up for MJML's output: it inlines only
our own stylesheet (``templates/email/inline.css``), leaves MJML's style blocks (media
queries, ``!important``) as they are, never fetches anything, never rewrites a link and
keeps the doctype.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

import premailer
from mjml import mjml2html

from digest.config import Settings
from digest.errors import RenderError
from digest.models import Bulletin, Edition, EditionLinks, RenderedEmail, Section
from digest.render.templating import base_context, render_template
from digest.render.text import render_bulletin_text, render_edition_text
from digest.render.views import bulletin_context, edition_context

DIGEST_TEMPLATE = "email/digest.mjml.j2"
BULLETIN_TEMPLATE = "email/bulletin.mjml.j2"
INLINE_CSS = "email/inline.css"
# Gmail clips an HTML part past 102 KB; keep room for the per-recipient links (each
# placeholder becomes a signed URL) and the quoted-printable overhead of non-ASCII text.
EMAIL_BUDGET_BYTES = 96_000

_DOCTYPE = re.compile(r"^\s*<!doctype html>", re.IGNORECASE)
_STYLE_TAG = re.compile(r"<style(?=[\s>])", re.IGNORECASE)
_PREVIEW_COLOUR = re.compile(r'(<div style="display:none;[^"]*?)color:#[0-9a-fA-F]{3,6};?')


def compile_mjml(source: str) -> str:
    """MJML → HTML; an MJML error becomes a ``RenderError``."""
    try:
        return mjml2html(source, disable_comments=True, fonts={})
    except Exception as exc:  # mjml-python raises plain exceptions
        raise RenderError(f"MJML could not be compiled: {exc}") from exc


def inline_css(html: str, css: str) -> str:
    """Inline ``css`` into the elements of MJML's HTML, leaving MJML's own styles alone."""
    html = _DOCTYPE.sub("<!DOCTYPE html>", html, count=1)
    # MJML's style blocks (resets, media queries) stay blocks: inlining ``table, td {...}``
    # into every cell would only make the message bigger.
    html = _STYLE_TAG.sub('<style data-premailer="ignore"', html)
    try:
        inliner = premailer.Premailer(
            html,
            css_text=[css] if css.strip() else None,
            base_url=None,
            disable_link_rewrites=True,
            strip_important=False,
            keep_style_tags=True,
            allow_network=False,
            allow_loading_external_files=False,
            exclude_pseudoclasses=True,
            disable_validation=True,
            cssutils_logging_level=logging.CRITICAL,
        )
        out: str = inliner.transform(pretty_print=False)
    except Exception as exc:
        raise RenderError(f"CSS could not be inlined: {exc}") from exc
    out = out.replace(' data-premailer="ignore"', "")  # left in conditional comments
    if not out.lstrip().upper().startswith("<!DOCTYPE"):
        out = "<!DOCTYPE html>" + out
    return out


def quiet_preview(html: str) -> str:
    """Drop the colour MJML gives the hidden preview line (white): it is never shown, and
    spam filters count hidden white-on-white text against a message."""
    return _PREVIEW_COLOUR.sub(r"\1", html, count=1)


def _html(settings: Settings, mjml: str) -> str:
    # The stylesheet is a template too: it takes its colours from ``palette``.
    css = render_template(settings, INLINE_CSS, base_context(settings))
    return inline_css(quiet_preview(compile_mjml(mjml)), css)


def render_edition_mjml(edition: Edition, settings: Settings, links: EditionLinks,
                        language: str | None = None) -> str:
    """The MJML source of an edition's email (what ``preview --format mjml`` shows)."""
    return render_template(settings, DIGEST_TEMPLATE,
                           edition_context(edition, settings, links, language))


def _first_items(edition: Edition, count: int) -> Edition:
    """The edition cut to its first ``count`` items in reading order; the rest are counted
    in ``omitted`` (and listed by the web version)."""
    sections: list[Section] = []
    room = count
    for section in edition.sections:
        taken = section.items[:max(room, 0)]
        room -= len(taken)
        if taken:
            sections.append(replace(section, items=taken))
    cut = len(edition.items) - min(count, len(edition.items))
    return replace(edition, sections=tuple(sections), omitted=edition.omitted + cut)


def _render_edition(edition: Edition, settings: Settings, links: EditionLinks,
                    language: str | None) -> RenderedEmail:
    context = edition_context(edition, settings, links, language)
    return _email(settings, DIGEST_TEMPLATE, context,
                  render_edition_text(edition, settings, links, context["language"]))


def _email(settings: Settings, template: str, context: dict[str, Any],
           text: str) -> RenderedEmail:
    """The email an edition or bulletin context makes with its MJML template: the MJML,
    the HTML compiled from it, and the text part rendered beside it."""
    mjml = render_template(settings, template, context)
    return RenderedEmail(
        subject=context["subject"],
        preheader=context["preheader"],
        mjml=mjml,
        html=_html(settings, mjml),
        text=text,
        language=context["language"],
        sender_name=context.get("sender_name", ""),
    )


def html_size(rendered: RenderedEmail) -> int:
    """The size Gmail measures: the bytes of the HTML part (before transfer encoding)."""
    return len(rendered.html.encode("utf-8"))


def render_edition_email(edition: Edition, settings: Settings, links: EditionLinks,
                         language: str | None = None,
                         budget: int | None = EMAIL_BUDGET_BYTES) -> RenderedEmail:
    """An edition (or one variant of it) as an email: subject, preheader, MJML, HTML, text.

    When the whole edition would make an HTML part over ``budget`` bytes (Gmail clips
    messages past ~102 KB and hides the rest, unsubscribe link included), the email keeps
    as many items as fit, found by bisection on the rendered bytes, and says how many more
    the web version holds. ``budget=None`` renders everything.
    """
    rendered = _render_edition(edition, settings, links, language)
    total = len(edition.items)
    if budget is None or html_size(rendered) <= budget or total == 0:
        return rendered
    fits, low, high = None, 0, total - 1  # the most items that fit lie in [low, high]
    while low <= high:
        middle = (low + high) // 2
        candidate = _render_edition(_first_items(edition, middle), settings, links, language)
        if html_size(candidate) <= budget:
            fits, low = candidate, middle + 1
        else:
            high = middle - 1
    if fits is None:
        raise RenderError(f"edition {edition.digest_id} #{edition.number}: even without items "
                          f"the email is over {budget} bytes; check the email templates")
    return fits


def render_bulletin_email(bulletin: Bulletin, settings: Settings,
                          links: EditionLinks) -> RenderedEmail:
    """A bulletin as an email, laid out like the working groups' own updates."""
    context = bulletin_context(bulletin, settings, links)
    return _email(settings, BULLETIN_TEMPLATE, context,
                  render_bulletin_text(bulletin, settings, links))
