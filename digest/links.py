"""Where things live on the web: one place that knows the URL of every public path.

Paths under ``site.base_url`` mirror the output folder (``out/editions/weekly/3/`` is served
as ``<base_url>/editions/weekly/3/``), so the web app can serve ``out/`` as it is.
"""

from __future__ import annotations

from urllib.parse import quote

from digest.config import Settings
from digest.languages import is_language_tag, normalized
from digest.models import EditionLinks


def edition_links(settings: Settings, digest_id: str, number: int,
                  language: str | None = None) -> EditionLinks:
    """Where a digest's edition is read on the web, its archive page and its PDF: the links
    its email and pages carry, so a reader can share the edition or find earlier ones.
    With ``language`` (a variant's, not the site's) the web version is that language's,
    published beside the site's (``<number>/<language>/``): "View in browser" opens the
    edition in the words the email was written in."""
    base = f"{settings.site.base_url}/editions/{digest_id}"
    folder = web_language_folder(settings, language)
    web = f"{base}/{number}/{folder}/" if folder else f"{base}/{number}/"
    return EditionLinks(web_url=web, archive_url=f"{base}/",
                        pdf_url=f"{base}/{number}/{digest_id}-{number}.pdf")


def web_language_folder(settings: Settings, language: str | None) -> str | None:
    """The folder (and URL segment) of an edition's web version in ``language``: the tag in
    lower case (``fr``, ``pt-br``); None for the site's language, whose version is the
    edition's own ``index.html``, and for anything that is not a language tag."""
    if not language:
        return None
    folder = normalized(language)
    if folder == normalized(settings.site.language) or not is_language_tag(folder):
        return None
    return folder


def bulletin_links(settings: Settings, slug: str) -> EditionLinks:
    """Where a bulletin is read on the web, the page listing the bulletins and its PDF, as
    for a digest's edition (``edition_links``)."""
    base = f"{settings.site.base_url}/bulletins"
    return EditionLinks(web_url=f"{base}/{slug}/", archive_url=f"{base}/",
                        pdf_url=f"{base}/{slug}/{slug}.pdf")


def unsubscribe_url(settings: Settings, token: str, digest_id: str | None = None) -> str:
    """The one-click unsubscribe link of a member's email (``token`` signs who it is for):
    leaving takes one click, with no account. ``digest_id``: the digest the email belongs
    to (a bulletin's: ``bulletins.audience``), which that click stops; the token is the
    same for every digest, so the id needs no signature (it only narrows what stops)."""
    url = f"{settings.site.base_url}/u/{token}"
    return f"{url}?digest={quote(digest_id, safe='')}" if digest_id else url


def preferences_url(settings: Settings, token: str) -> str:
    """The link to a member's own page for choosing themes and language (``token`` signs
    who it is for), so no account or password is needed."""
    return f"{settings.site.base_url}/p/{token}"


def feed_url(base_url: str, name: str) -> str:
    """Where a feed file (``all.atom``, ``bulletins.rss``...) is served, under the site's base
    URL: the catalogue lists it there, and pages point feed readers to it."""
    return f"{base_url.rstrip('/')}/feeds/{name}"


def feeds_index_url(settings: Settings) -> str:
    """The page that lists every feed (``feeds/index.html``), served at ``/feeds/``."""
    return f"{settings.site.base_url}/feeds/"


def console_edition_links(settings: Settings, digest_id: str, number: int) -> EditionLinks:
    """Where a coordinator reads an edition not published yet (a draft waiting for its
    approval): its console page and PDF (sign-in needed), and the digest's public archive.
    A [TEST] copy of such an edition carries these, never a web version that is not there."""
    base = f"{settings.site.base_url}/admin/editions/{digest_id}/{number}"
    return EditionLinks(web_url=base, pdf_url=f"{base}/email.pdf",
                        archive_url=edition_links(settings, digest_id, number).archive_url)
