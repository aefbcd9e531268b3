"""Storing collected items once, whatever number of sources or runs bring them.

An item is found by its identity key. A new key is inserted with ``first_seen`` set to the
collection time, which is what makes it "new" for the next edition. A known key whose
content changed is updated in place and keeps its ``first_seen`` (so it is not announced
again); an unchanged one only records the extra source. A second run therefore adds nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Connection, RowMapping, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from digest.models import EventInfo, Item, Kind
from digest.store.schema import item_sources, items

Outcome = Literal["new", "updated", "duplicate"]


def _when_to_text(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _text_to_when(value: str | None) -> date | datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)


def content_hash(item: Item) -> str:
    """A fingerprint of what a reader sees, to tell a real change from a re-collection."""
    event = item.event
    parts = [item.kind.value, item.title, item.link or "", item.summary_html,
             item.published.isoformat(), ",".join(sorted(item.themes)),
             _when_to_text(event.start) or "" if event else "",
             _when_to_text(event.end) or "" if event else "",
             (event.location or "") if event else ""]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _values(item: Item) -> dict[str, Any]:
    event = item.event
    return {
        "kind": item.kind.value,
        "title": item.title,
        "link": item.link,
        "summary_html": item.summary_html,
        "published": item.published,
        "updated": item.updated,
        "themes": sorted(item.themes),
        "event_start": _when_to_text(event.start) if event else None,
        "event_end": _when_to_text(event.end) if event else None,
        "location": event.location if event else None,
    }


def _insert(connection: Connection) -> Any:
    return pg_insert if connection.dialect.name == "postgresql" else sqlite_insert


def upsert_item(connection: Connection, item: Item, now: datetime) -> Outcome:
    """Store one collected item; say whether it was new, changed, or already known."""
    row = connection.execute(
        select(items.c.id, items.c.content_hash, items.c.themes).where(items.c.key == item.key)
    ).first()
    if row is None:
        inserted = connection.execute(
            _insert(connection)(items)
            .values(key=item.key, source_id=item.source_id, content_hash=content_hash(item),
                    first_seen=now, last_seen=now, **_values(item))
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(items.c.id)
        ).first()
        if inserted is None:  # another process stored it in between: it is a duplicate now
            return upsert_item(connection, item, now)
        item_id = inserted.id
        outcome: Outcome = "new"
    else:
        item_id = row.id
        # The same article from another listing may carry other themes: keep them all.
        themes = tuple(sorted(set(row.themes) | set(item.themes)))
        merged = replace(item, themes=themes)
        merged_hash = content_hash(merged)
        outcome = "duplicate" if merged_hash == row.content_hash else "updated"
        changes: dict[str, Any] = {"last_seen": now}
        if outcome == "updated":
            changes.update(content_hash=merged_hash, **_values(merged))
        connection.execute(items.update().where(items.c.id == item_id).values(**changes))
    connection.execute(
        _insert(connection)(item_sources)
        .values(item_id=item_id, source_id=item.source_id, first_seen=now)
        .on_conflict_do_nothing(index_elements=["item_id", "source_id"])
    )
    return outcome


def _to_item(row: RowMapping) -> Item:
    start = _text_to_when(row["event_start"])
    event = None if start is None else EventInfo(
        start=start, end=_text_to_when(row["event_end"]), location=row["location"])
    return Item(
        key=row["key"], kind=Kind(row["kind"]), title=row["title"], link=row["link"],
        summary_html=row["summary_html"], published=row["published"], updated=row["updated"],
        themes=tuple(row["themes"]), source_id=row["source_id"], event=event,
        first_seen=row["first_seen"],
    )


def all_items(connection: Connection) -> list[Item]:
    """Every stored item, newest publication first."""
    result = connection.execute(select(items).order_by(items.c.published.desc(), items.c.id))
    return [_to_item(row) for row in result.mappings()]


def items_seen_since(connection: Connection, after: datetime | None,
                     until: datetime) -> list[Item]:
    """Items first seen in (after, until]: the candidates for the next edition."""
    query = select(items).where(items.c.first_seen <= until)
    if after is not None:
        query = query.where(items.c.first_seen > after)
    return [_to_item(row) for row in connection.execute(query.order_by(items.c.id)).mappings()]


def items_by_keys(connection: Connection, keys: Sequence[str]) -> list[Item]:
    """The items of a frozen edition, in the edition's order."""
    if not keys:
        return []
    found = {row["key"]: _to_item(row) for row in
             connection.execute(select(items).where(items.c.key.in_(list(keys)))).mappings()}
    return [found[key] for key in keys if key in found]


def sources_of(connection: Connection, key: str) -> list[str]:
    """Every source that has delivered the item with this key."""
    query = (select(item_sources.c.source_id).join(items, items.c.id == item_sources.c.item_id)
             .where(items.c.key == key).order_by(item_sources.c.source_id))
    return list(connection.execute(query).scalars())


def count_items(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(items)).scalar() or 0)
