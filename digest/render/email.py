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

import premailer
from mjml import mjml2html

from digest.config import Settings
from digest.errors import RenderError
from digest.models import Bulletin, Edition, EditionLinks, RenderedEmail
from digest.render.templating import render_template, template_source
from digest.render.text import render_bulletin_text, render_edition_text
from digest.render.views import bulletin_context, edition_context

DIGEST_TEMPLATE = "email/digest.mjml.j2"
BULLETIN_TEMPLATE = "email/bulletin.mjml.j2"
INLINE_CSS = "email/inline.css"

_DOCTYPE = re.compile(r"^\s*<!doctype html>", re.IGNORECASE)
_STYLE_TAG = re.compile(r"<style(?=[\s>])", re.IGNORECASE)


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


def _html(settings: Settings, mjml: str) -> str:
    return inline_css(compile_mjml(mjml), template_source(settings, INLINE_CSS))


def render_edition_mjml(edition: Edition, settings: Settings, links: EditionLinks,
                        language: str | None = None) -> str:
    """The MJML source of an edition's email (what ``preview --format mjml`` shows)."""
    return render_template(settings, DIGEST_TEMPLATE,
                           edition_context(edition, settings, links, language))


def render_edition_email(edition: Edition, settings: Settings, links: EditionLinks,
                         language: str | None = None) -> RenderedEmail:
    """An edition (or one variant of it) as an email: subject, preheader, MJML, HTML, text."""
    context = edition_context(edition, settings, links, language)
    mjml = render_template(settings, DIGEST_TEMPLATE, context)
    return RenderedEmail(
        subject=context["subject"],
        preheader=context["preheader"],
        mjml=mjml,
        html=_html(settings, mjml),
        text=render_edition_text(edition, settings, links, context["language"]),
        language=context["language"],
    )


def render_bulletin_email(bulletin: Bulletin, settings: Settings,
                          links: EditionLinks) -> RenderedEmail:
    """A bulletin as an email, laid out like the working groups' own updates."""
    context = bulletin_context(bulletin, settings, links)
    mjml = render_template(settings, BULLETIN_TEMPLATE, context)
    return RenderedEmail(
        subject=context["subject"],
        preheader=context["preheader"],
        mjml=mjml,
        html=_html(settings, mjml),
        text=render_bulletin_text(bulletin, settings, links),
        language=bulletin.language,
    )
