"""What the feeds show: the newest stored items of everything and of each theme.

An item is dated in a feed by its publication, but never later than when it was first seen:
a source that dates an article in the future (a typo, a wrong zone, an event's day given as
the publication) would otherwise sit at the top of every feed until that day.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, literal, or_, select

from digest.models import Item
from digest.store import json_lists
from digest.store.items import BATCH, row_to_item
from digest.store.schema import SHOWN_PUBLISHED, items


def newest_items_per_feed(connection: Connection, until: datetime, limit: int,
                          themes: Collection[str]) -> list[Item]:
    """The items the feeds show: the ``limit`` newest (by ``SHOWN_PUBLISHED``) of everything and of
    each theme, first seen by ``until``, ties at the limit included so the feed's own order
    decides them. Reads light columns newest first and stops once every feed is full, then
    loads only the chosen items: publishing costs the same with 500 or 50 000 stored.

    A theme with few items would keep that read going through the whole store: once the
    feed of everything is full and ``BATCH`` more rows filled none of the feeds still open,
    each of those is read on by itself, filtered by the database from where the read was."""
    query = (select(items.c.id, SHOWN_PUBLISHED.label("shown"), items.c.themes)
             .where(items.c.first_seen <= until)
             .order_by(SHOWN_PUBLISHED.desc(), items.c.id))
    feeds: dict[str | None, _FeedFill] = {None: _FeedFill(limit)}
    feeds.update((theme, _FeedFill(limit)) for theme in themes)
    chosen: dict[int, None] = {}  # in reading order, once
    idle, position = 0, None
    for row in connection.execution_options(yield_per=BATCH).execute(query):
        position = (row.shown, row.id)
        if _offer(feeds, (None, *row.themes), row.shown):
            chosen[row.id] = None
            idle = 0
        elif all(fill.closed for fill in feeds.values()):
            break
        elif feeds[None].closed and (idle := idle + 1) >= BATCH:
            for theme in [t for t, fill in feeds.items() if not fill.closed]:
                chosen.update(dict.fromkeys(_read_on(connection, query, theme, feeds[theme],
                                                     position)))
            break
    if not chosen:
        return []
    result = connection.execute(select(items).where(items.c.id.in_(list(chosen)))
                                .order_by(SHOWN_PUBLISHED.desc(), items.c.id))
    return [row_to_item(row) for row in result.mappings()]


def _offer(feeds: dict[str | None, _FeedFill], names: tuple[str | None, ...],
           shown: datetime) -> bool:
    """Give a row to the feeds it belongs to (everything, and each of its themes still
    published); whether one of them took it."""
    taken = False
    for name in dict.fromkeys(names):
        fill = feeds.get(name)
        if fill is not None and fill.takes(shown):
            taken = True
    return taken


def _read_on(connection: Connection, query: Select[Any], theme: str | None, fill: _FeedFill,
             position: tuple[datetime, int]) -> list[int]:
    """The ids one feed still takes, read after ``position`` with its theme filtered in SQL."""
    assert theme is not None  # the feed of everything is closed before this is asked
    shown, last_id = position
    moment = literal(shown, SHOWN_PUBLISHED.type)
    after = or_(moment > SHOWN_PUBLISHED, and_(moment == SHOWN_PUBLISHED, items.c.id > last_id))
    taken = []
    rows = connection.execution_options(yield_per=BATCH).execute(
        query.where(after, json_lists.holds(connection, items.c.themes, theme)))
    for row in rows:
        if not fill.takes(row.shown):
            break
        taken.append(row.id)
    return taken


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
