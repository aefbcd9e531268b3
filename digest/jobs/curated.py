"""A stored edition as its coordinators curated it: pinned items first in their section and
the editor's note, Markdown made into the same inert HTML as collected summaries.

Every form is rendered from the edition this gives (``jobs.editions.stored_edition``), so
the email of each (language, themes) variant, the text part, the web version and the PDF
all show the same curation. The items left out are already gone from the frozen edition
(``store.curation``).
"""

from __future__ import annotations

import re
from dataclasses import replace

from digest import compose, markdown
from digest.config import DigestSettings
from digest.jobs.context import Context
from digest.models import Edition
from digest.sources.clean.markup import sanitize_html
from digest.store import curation, items
from digest.store.curation import Curation
from digest.store.editions import EditionRow

_HEADING = re.compile(r"<(/?)h([1-6])>")


def note_html(text: str) -> str:
    """The note's Markdown as sanitised HTML: CommonMark without raw HTML, then the
    collected summaries' sanitiser (a few text tags, http(s) and mailto links only)."""
    if not text.strip():
        return ""
    html = str(markdown.parser(extended=False).render(text))
    # Under the note's own heading (h2), its headings are h3 or h4, which the sanitiser keeps.
    html = _HEADING.sub(lambda m: f"<{m[1]}h{3 if m[2] in '12' else 4}>", html)
    return sanitize_html(html)


def curated(edition: Edition, chosen: Curation) -> Edition:
    """``edition`` with its pins and note applied (unchanged when nobody curated it)."""
    note = note_html(chosen.note.markdown) if chosen.note else ""
    return compose.curate(edition, pinned=chosen.pinned, note_html=note)


def with_overflow(ctx: Context, digest: DigestSettings, row: EditionRow,
                  edition: Edition) -> Edition:
    """The stored edition with the items ``max_items`` cut from it listed again, for its
    web version and PDF: composed once more over its period, without the items left out
    of the digest (a frozen edition keeps only the items its email shows)."""
    if not row.omitted:
        return edition
    with ctx.db.transaction() as connection:
        excluded = curation.omitted_keys(connection, digest.id)
        recomposed = compose.compose_edition(
            digest, items.items_seen_since(connection, row.period_start, row.period_end,
                                           digest.kinds),
            cursor=row.period_start, slot=row.slot, now=row.period_end, number=row.number,
            zone=ctx.settings.site.zone, exclude=excluded)
    shown = {item.key for item in edition.items}
    listed = max(digest.max_web_items, digest.max_items)
    overflow = tuple(item for item in (*recomposed.items, *recomposed.overflow)
                     if item.key not in shown)[:max(0, listed - len(shown))]
    return replace(edition, overflow=overflow,
                   unlisted=max(0, edition.omitted - len(overflow)))
