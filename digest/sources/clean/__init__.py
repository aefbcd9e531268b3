"""Normalise what sources give into what the rest of the product may trust.

Feeds, calendars and notes are written by other people with other tools: their HTML may
carry scripts, their titles markup, their categories any spelling, and the same article
reaches us through several listings. Everything here is pure (no I/O), one job a module:

- ``markup``: sanitised HTML, plain titles and text, cutting to a length;
- ``themes``: categories and words → kinds and configured themes;
- ``identity``: identity keys within a listing, link identity across sources;
- ``seal``: the one pass every item takes before it leaves the stage.
"""

from __future__ import annotations

# The names the rest of the product imports from ``digest.sources.clean``.
from digest.sources.clean.identity import (
    canonical_link,
    identity_key,
    is_web_link,
    link_identity,
    shared_identifiers,
)
from digest.sources.clean.markup import (
    ALLOWED_TAGS,
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    cut_html,
    plain_title,
    repair_text,
    sanitize_html,
    text_to_html,
)
from digest.sources.clean.seal import KEY_LIMIT, LINK_LIMIT, LOCATION_LIMIT, seal
from digest.sources.clean.themes import ThemeMapper, kind_from, kind_of

__all__ = [
    "ALLOWED_TAGS", "KEY_LIMIT", "LINK_LIMIT", "LOCATION_LIMIT", "SUMMARY_LIMIT", "TITLE_LIMIT",
    "ThemeMapper", "canonical_link", "cut_html", "identity_key", "is_web_link", "kind_from",
    "kind_of", "link_identity", "plain_title", "repair_text", "sanitize_html", "seal",
    "shared_identifiers", "text_to_html",
]
