"""The HTML the feeds carry, asked of the caller: the feeds index page and the opening of an
event's or a bulletin's entry.

HTML lives in templates, and templates belong to the renderers; since stages do not import
each other, the feeds job hands the renderers' ``FeedMarkup`` to ``publish_feeds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from digest.models import Bulletin, FeedInfo, Item


class FeedMarkup(Protocol):
    """Makes every piece of HTML that publishing writes."""

    def index_page(self, catalogue: Sequence[FeedInfo]) -> str:
        """The page that lists the feeds (``feeds/index.html``)."""
        ...

    def event_note(self, item: Item) -> str:
        """The paragraph that opens an event's entry: when and where it happens."""
        ...

    def bulletin_summary(self, bulletin: Bulletin) -> str:
        """A bulletin's entry summary: its introduction and the titles of its sections."""
        ...

    def bulletin_content(self, bulletin: Bulletin) -> str:
        """A bulletin's entry content: the introduction, then each section in full."""
        ...
