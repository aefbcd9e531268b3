"""What a stored edition's preview depends on, read cheaply: the console polls it twice a
second to reload its frames when a draft changes, so it reads a few small rows, never the
items' text.

The state is the edition row (status, items kept, counts, title), its curation (items left
out or pinned, when) and its editor's note (when written); the items' own text does not
change once the edition is frozen.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import Connection, select

from digest.store.schema import curations, edition_notes, editions


def edition_state(connection: Connection, edition_id: int) -> str | None:
    """A short hash of what the edition renders from; None when the edition is gone."""
    row = connection.execute(
        select(editions.c.status, editions.c.item_keys, editions.c.omitted, editions.c.title,
               editions.c.number).where(editions.c.id == edition_id)).first()
    if row is None:
        return None
    curated = connection.execute(
        select(curations.c.item_key, curations.c.action, curations.c.at)
        .where(curations.c.edition_id == edition_id).order_by(curations.c.id)).all()
    note = connection.execute(
        select(edition_notes.c.markdown, edition_notes.c.at)
        .where(edition_notes.c.edition_id == edition_id)).first()
    state = [list(row), [list(c) for c in curated], list(note) if note else None]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()[:32]
