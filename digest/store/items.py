"""Storing collected items once, whatever number of sources or runs bring them.

An item is found by its identity key. A new key is inserted with ``first_seen`` set to the
collection time, which is what makes it "new" for the next edition. A known key whose
content changed is updated in place and keeps its ``first_seen`` (so it is not announced
again); an unchanged one only records the extra source. A second run therefore adds nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Connection, RowMapping, bindparam, func, select

from digest.dates import parse_iso
from digest.models import EventInfo, Item, Kind
from digest.safetext import safe_html, safe_line
from digest.store.schema import item_links, item_sources, items
from digest.store.upsert import dialect_insert

Outcome = Literal["new", "updated", "duplicate"]
BATCH = 1000  # rows fetched at a time when streaming


def _when_to_text(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _text_to_when(value: str | None) -> date | datetime | None:
    if value is None:
        return None
    return parse_iso(value)


def content_hash(item: Item) -> str:
    """A fingerprint of what a reader sees, to tell a real change from a re-collection.

    An undated item's ``published`` is only when it was read, so it is left out: polling it
    again is no change."""
    event = item.event
    parts = [item.kind.value, item.title, item.link or "", item.summary_html,
             "" if item.undated else item.published.isoformat(), ",".join(sorted(item.themes)),
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
    return dialect_insert(connection)


_CHUNK = 500  # keys per IN (...) clause: far below SQLite's and PostgreSQL's limits


@dataclass
class _Known:
    """What the store has (or will have, once ``pending`` is inserted) under one key."""

    id: int | None
    content_hash: str
    themes: tuple[str, ...]
    pending: dict[str, Any] | None = None  # the row to insert, for a key new in this batch
    changes: dict[str, Any] | None = None  # the columns to update, for a stored key
    inserted: bool = False  # by this batch: its last_seen is already now


def upsert_item(connection: Connection, item: Item, now: datetime) -> Outcome:
    """Store one collected item; say whether it was new, changed, or already known."""
    return upsert_items(connection, [item], now)[0]


def upsert_items(connection: Connection, batch: Sequence[Item], now: datetime) -> list[Outcome]:
    """Store a source's items in a few statements (not three per item); say for each
    whether it was new, changed or already known, exactly as one ``upsert_item`` after the
    other would. A key another process inserted in between is taken as known. An item
    whose key is new but whose ``link_key`` names a stored item is that item (the same
    article from another source, under another guid)."""
    batch = _by_link(connection, batch)
    known = _known(connection, {item.key for item in batch})
    outcomes = [_merge(known, item, now) for item in batch]
    conflicts = _insert_pending(connection, known)
    if conflicts:  # stored by another process in between: those are known keys now
        again = [(i, item) for i, item in enumerate(batch) if item.key in conflicts]
        redone = upsert_items(connection, [item for _, item in again], now)
        for (position, _), outcome in zip(again, redone, strict=True):
            outcomes[position] = outcome
        batch = [item for item in batch if item.key not in conflicts]
    _update_known(connection, known, conflicts, now)
    links = {(known[item.key].id, item.source_id) for item in batch}
    if links:
        connection.execute(
            _insert(connection)(item_sources).on_conflict_do_nothing(
                index_elements=["item_id", "source_id"]),
            [{"item_id": item_id, "source_id": source_id, "first_seen": now}
             for item_id, source_id in sorted(links, key=lambda pair: (pair[0] or 0, pair[1]))])
    named = {item.link_key: known[item.key].id for item in batch if item.link_key}
    if named:
        connection.execute(
            _insert(connection)(item_links).on_conflict_do_nothing(index_elements=["link_key"]),
            [{"link_key": link_key, "item_id": item_id}
             for link_key, item_id in sorted(named.items())])
    return outcomes


def _by_link(connection: Connection, batch: Sequence[Item]) -> list[Item]:
    """The batch with each item whose key is not stored but whose ``link_key`` names a
    stored item (in ``item_links``, or as the key of an item stored before that table
    existed, ``http`` or ``https``) replaced by that stored item, with this item's themes
    and source: the first source's text and link stay, the others add their themes."""
    linked = [item for item in batch if item.link_key]
    if not linked:
        return list(batch)
    stored = _stored_keys(connection, {item.key for item in linked})
    wanted = {item.link_key for item in linked if item.key not in stored and item.link_key}
    owners: dict[str, str] = {}
    ordered = sorted(wanted)
    for start in range(0, len(ordered), _CHUNK):
        query = (select(item_links.c.link_key, items.c.key)
                 .join(items, items.c.id == item_links.c.item_id)
                 .where(item_links.c.link_key.in_(ordered[start:start + _CHUNK])))
        owners.update({row.link_key: row.key for row in connection.execute(query)})
    older = {form: link_key for link_key in wanted - set(owners)
             for form in (link_key, "http://" + link_key.removeprefix("https://"))}
    for key in _stored_keys(connection, set(older)):
        owners.setdefault(older[key], key)
    taken = {item.key for item in batch}
    owners = {link: key for link, key in owners.items() if key not in taken}
    found = {item.key: item for item in items_by_keys(connection, sorted(set(owners.values())))}
    return [replace(found[owners[item.link_key]], themes=item.themes, source_id=item.source_id,
                    link_key=item.link_key)
            if item.key not in stored and item.link_key in owners else item for item in batch]


def _stored_keys(connection: Connection, keys: set[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        found.update(connection.execute(select(items.c.key).where(
            items.c.key.in_(ordered[start:start + _CHUNK]))).scalars())
    return found


def _known(connection: Connection, keys: set[str]) -> dict[str, _Known]:
    found: dict[str, _Known] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start:start + _CHUNK]
        query = select(items.c.id, items.c.key, items.c.content_hash, items.c.themes).where(
            items.c.key.in_(chunk))
        for row in connection.execute(query):
            found[row.key] = _Known(id=row.id, content_hash=row.content_hash,
                                    themes=tuple(row.themes))
    return found


def _merge(known: dict[str, _Known], item: Item, now: datetime) -> Outcome:
    """Decide one item's outcome against what is known, and plan the write."""
    current = known.get(item.key)
    if current is None:
        row = {"key": item.key, "source_id": item.source_id, "content_hash": content_hash(item),
               "first_seen": now, "last_seen": now, **_values(item)}
        known[item.key] = _Known(id=None, content_hash=row["content_hash"],
                                 themes=tuple(sorted(item.themes)), pending=row)
        return "new"
    # The same article from another listing may carry other themes: keep them all.
    merged = replace(item, themes=tuple(sorted(set(current.themes) | set(item.themes))))
    merged_hash = content_hash(merged)
    if merged_hash == current.content_hash:
        return "duplicate"
    current.content_hash, current.themes = merged_hash, merged.themes
    change = {"content_hash": merged_hash, **_values(merged)}
    if item.undated:  # keep the first reading's date; the change itself is dated now
        del change["published"]
        change["updated"] = now
    if current.pending is not None:
        current.pending.update(change)
    else:
        current.changes = change
    return "updated"


def _insert_pending(connection: Connection, known: dict[str, _Known]) -> set[str]:
    """Insert the new keys in one statement; return the keys that were there already."""
    rows = [entry.pending for entry in known.values() if entry.pending is not None]
    if not rows:
        return set()
    statement = (_insert(connection)(items).on_conflict_do_nothing(index_elements=["key"])
                 .returning(items.c.id, items.c.key))
    for inserted in connection.execute(statement, rows):
        entry = known[inserted.key]
        entry.id, entry.pending, entry.inserted = inserted.id, None, True
    conflicts = {key for key, entry in known.items() if entry.pending is not None}
    for key in conflicts:
        del known[key]
    return conflicts


def _update_known(connection: Connection, known: dict[str, _Known], skip: set[str],
                  now: datetime) -> None:
    """Write the changed items, and ``last_seen`` of every stored item seen again."""
    changed = [{"b_id": entry.id, **entry.changes, "last_seen": now}
               for key, entry in known.items() if entry.changes is not None and key not in skip]
    if changed:
        columns = [name for name in changed[0] if name != "b_id"]
        connection.execute(items.update().where(items.c.id == bindparam("b_id"))
                           .values({name: bindparam(name) for name in columns}), changed)
    seen = sorted(entry.id for key, entry in known.items() if entry.id is not None
                  and entry.changes is None and not entry.inserted and key not in skip)
    for start in range(0, len(seen), _CHUNK):
        connection.execute(items.update().where(items.c.id.in_(seen[start:start + _CHUNK]))
                           .values(last_seen=now))


def row_to_item(row: RowMapping) -> Item:
    """An item as stored, its text scrubbed again (``digest.safetext``): a row written by a
    version that let a control character through must not stop a render or a mail. The
    key is left as stored: editions and feeds refer to it."""
    start = _text_to_when(row["event_start"])
    location = safe_line(row["location"]) if row["location"] is not None else None
    event = None if start is None else EventInfo(
        start=start, end=_text_to_when(row["event_end"]), location=location or None)
    link = safe_line(row["link"]) if row["link"] is not None else None
    return Item(
        key=row["key"], kind=Kind(row["kind"]), title=safe_line(row["title"]), link=link or None,
        summary_html=safe_html(row["summary_html"]), published=row["published"],
        updated=row["updated"],
        themes=tuple(row["themes"]), source_id=row["source_id"], event=event,
        first_seen=row["first_seen"],
    )


def all_items(connection: Connection) -> list[Item]:
    """Every stored item, newest publication first."""
    result = connection.execute(select(items).order_by(items.c.published.desc(), items.c.id))
    return [row_to_item(row) for row in result.mappings()]


def items_seen_since(connection: Connection, after: datetime | None, until: datetime,
                     kinds: Collection[Kind] | None = None) -> Iterator[Item]:
    """Items first seen in (after, until], of these kinds: the candidates for the next
    edition, streamed in batches so that tens of thousands never sit in memory at once
    (the caller consumes them inside the connection's transaction)."""
    query = select(items).where(items.c.first_seen <= until)
    if after is not None:
        query = query.where(items.c.first_seen > after)
    if kinds is not None:
        query = query.where(items.c.kind.in_([str(kind) for kind in kinds]))
    streamed = connection.execution_options(yield_per=BATCH)
    for row in streamed.execute(query.order_by(items.c.id)).mappings():
        yield row_to_item(row)


def events(connection: Connection) -> Iterator[Item]:
    """Every stored event, streamed: the candidates for a bulletin's upcoming meetings."""
    query = select(items).where(items.c.kind == str(Kind.EVENT)).order_by(items.c.id)
    streamed = connection.execution_options(yield_per=BATCH)
    for row in streamed.execute(query).mappings():
        yield row_to_item(row)


def items_by_keys(connection: Connection, keys: Sequence[str]) -> list[Item]:
    """The items of a frozen edition, in the edition's order."""
    if not keys:
        return []
    found = {row["key"]: row_to_item(row) for row in
             connection.execute(select(items).where(items.c.key.in_(list(keys)))).mappings()}
    return [found[key] for key in keys if key in found]


def sources_of(connection: Connection, key: str) -> list[str]:
    """Every source that has delivered the item with this key."""
    query = (select(item_sources.c.source_id).join(items, items.c.id == item_sources.c.item_id)
             .where(items.c.key == key).order_by(item_sources.c.source_id))
    return list(connection.execute(query).scalars())


def count_items(connection: Connection) -> int:
    """How many items are stored, which ``status`` reports."""
    return int(connection.execute(select(func.count()).select_from(items)).scalar() or 0)
