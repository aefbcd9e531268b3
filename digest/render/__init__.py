"""Rendering: an ``Edition`` or ``Bulletin`` in, its email (HTML + text), web page and PDF
out, plus the HTML the feeds carry. Every piece of HTML comes from a template.

    templating  the one Jinja2 environment (project templates override the defaults by
                name), its filters and the context every template shares
    views       what the templates are given: subjects, sections, items, a bulletin's
                sections with its upcoming events, the same in every form
    i18n        the templates' own words in the reader's language (gettext catalogs in
                ``locales/``); dates are written by ``digest.dates``
    palette     the light and dark colours, checked for contrast
    email       Jinja2 → MJML → HTML → premailer: ``RenderedEmail`` with placeholders
    text        the text/plain part, wrapped at 72 columns with numbered links
    web         the web version (index.html), listing everything
    pdf         WeasyPrint, A4, no network
    feeds       the feeds' index page and the HTML of their entries (``FeedTemplates``)
    lint        the problem list shown before sending

Import from the module that does the job (``digest.render.email`` ...). Nothing here
reads the store or sends mail; every failure is a ``RenderError``.
"""
