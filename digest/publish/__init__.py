"""The publish stage: stored items and bulletins → feeds, OPML and the feeds index.

Modules, one job each: ``catalogue`` (which feeds exist, their names and order),
``entries`` (an item or bulletin → what a feed entry says, and its stable id), ``feeds``
(entries → Atom or RSS bytes, through feedgen), ``opml`` (the catalogue → ``index.opml``)
``markup`` (the HTML asked of the renderers) and ``writer`` (``publish_feeds``: every file
written, atomically and only when changed).
"""

from __future__ import annotations

from digest.models import FeedInfo
from digest.publish.catalogue import feed_catalogue
from digest.publish.entries import KIND_SCHEME, BulletinEntry, bulletin_id, entry_id
from digest.publish.markup import FeedMarkup
from digest.publish.writer import publish_feeds

__all__ = [
    "KIND_SCHEME",
    "BulletinEntry",
    "FeedInfo",
    "FeedMarkup",
    "bulletin_id",
    "entry_id",
    "feed_catalogue",
    "publish_feeds",
]
