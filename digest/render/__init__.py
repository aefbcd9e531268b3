"""Rendering: an ``Edition`` or ``Bulletin`` in, its email (HTML + text), web page and PDF out.

    templating  the Jinja2 environment (project templates override the defaults by name),
                date and theme formatting
    email       Jinja2 → MJML → HTML → premailer: ``RenderedEmail`` with placeholders
    text        the text/plain part, wrapped at 72 columns with numbered links
    web         the web version (index.html), listing everything
    pdf         WeasyPrint, A4, no network
    lint        the problem list shown before sending

Nothing here reads the store or sends mail; every failure is a ``RenderError``.
"""

from digest.render.email import render_bulletin_email, render_edition_email
from digest.render.lint import Problem, lint_bulletin, lint_email
from digest.render.pdf import render_bulletin_pdf, render_edition_pdf
from digest.render.text import render_bulletin_text, render_edition_text
from digest.render.web import render_bulletin_web, render_edition_web

__all__ = [
    "Problem",
    "lint_bulletin",
    "lint_email",
    "render_bulletin_email",
    "render_bulletin_pdf",
    "render_bulletin_text",
    "render_bulletin_web",
    "render_edition_email",
    "render_edition_pdf",
    "render_edition_text",
    "render_edition_web",
]
