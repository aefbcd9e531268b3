"""What the feeds show: the newest stored items of everything and of each theme.

An item is dated in a feed by its publication, but never later than when it was first seen:
a source that dates an article in the future (a typo, a wrong zone, an event's day given as
the publication) would otherwise sit at the top of every feed until that day.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from digest.models import Item
from digest.store.items import BATCH, row_to_item
from digest.store.schema import SHOWN_PUBLISHED, items


def newest_items_per_feed(connection: Connection, until: datetime, limit: int,
                          themes: Collection[str]) -> list[Item]:
    """The items the feeds show: the ``limit`` newest (by ``SHOWN_PUBLISHED``) of everything and of
    each theme, first seen by ``until``, ties at the limit included so the feed's own order
    decides them. Reads light columns newest first and stops once every feed is full, then
    loads only the chosen items: publishing costs the same with 500 or 50 000 stored."""
    query = (select(items.c.id, SHOWN_PUBLISHED.label("shown"), items.c.themes)
             .where(items.c.first_seen <= until)
             .order_by(SHOWN_PUBLISHED.desc(), items.c.id))
    feeds: dict[str | None, _FeedFill] = {None: _FeedFill(limit)}
    feeds.update((theme, _FeedFill(limit)) for theme in themes)
    chosen: list[int] = []
    streamed = connection.execution_options(yield_per=BATCH)
    for row in streamed.execute(query):
        wanted = False
        for theme, fill in feeds.items():
            if (theme is None or theme in row.themes) and fill.takes(row.shown):
                wanted = True
        if wanted:
            chosen.append(row.id)
        elif all(fill.closed for fill in feeds.values()):
            break
    if not chosen:
        return []
    result = connection.execute(select(items).where(items.c.id.in_(chosen))
                                .order_by(SHOWN_PUBLISHED.desc(), items.c.id))
    return [row_to_item(row) for row in result.mappings()]


@dataclass
class _FeedFill:
    """One feed's entries as rows arrive newest first: full at ``limit``, then only ties
    with the last one taken, then closed."""

    limit: int
    taken: int = 0
    last: datetime | None = None
    closed: bool = False

    def takes(self, published: datetime) -> bool:
        if self.closed:
            return False
        if self.taken >= self.limit and published != self.last:
            self.closed = True
            return False
        self.taken += 1
        self.last = published
        return True
