"""A digest draft's curation as stored: the items its coordinators left out or pinned
first, and the editor's note (Markdown) shown above the items.

An item left out leaves the edition's frozen ``item_keys`` (so every count and form agrees
at once) and keeps its ``omit`` row, which puts it back on ``restore`` and keeps it out of
every later edition of the digest (``omitted_keys``). An item has one curation at most
per edition: leaving out a pinned item unpins it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, select

from digest.store import editions as stored_editions
from digest.store.schema import curations, edition_notes, editions

Action = Literal["omit", "pin"]
OMIT: Action = "omit"
PIN: Action = "pin"


@dataclass(frozen=True)
class Note:
    """The editor's note of an edition: its Markdown, who wrote it last and when."""

    markdown: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class Curation:
    """What the coordinators did to one edition: the keys left out and pinned (each in the
    order it was done) and the note, if any."""

    omitted: tuple[str, ...] = ()
    pinned: tuple[str, ...] = ()
    note: Note | None = None

    @property
    def note_version(self) -> str:
        """A short hash of the note's text ("" when there is none): a coordinator's note
        form carries the one it was opened on, so nobody overwrites a note unseen."""
        text = self.note.markdown if self.note else ""
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    @property
    def is_empty(self) -> bool:
        return not self.omitted and not self.pinned and self.note is None


def curation(connection: Connection, edition_id: int) -> Curation:
    """The edition's curation (empty when nobody curated it)."""
    rows = connection.execute(
        select(curations.c.item_key, curations.c.action)
        .where(curations.c.edition_id == edition_id).order_by(curations.c.id)).all()
    note = connection.execute(select(edition_notes).where(
        edition_notes.c.edition_id == edition_id)).mappings().first()
    return Curation(
        omitted=tuple(key for key, action in rows if action == OMIT),
        pinned=tuple(key for key, action in rows if action == PIN),
        note=None if note is None else Note(note["markdown"], note["actor"], note["at"]))


def lock_draft(connection: Connection, edition_id: int) -> bool:
    """Whether the edition is still a draft, holding its row until the transaction ends:
    an approval made meanwhile waits, so no curation lands on an approved edition."""
    touched = connection.execute(
        editions.update().where(editions.c.id == edition_id,
                                editions.c.status == stored_editions.DRAFT)
        .values(status=stored_editions.DRAFT))
    return touched.rowcount == 1


def omit(connection: Connection, row: stored_editions.EditionRow, item_key: str, *,
         actor: str, at: datetime) -> None:
    """Leave ``item_key`` out of the edition (a pin on it is dropped)."""
    _set(connection, row, item_key, OMIT, actor=actor, at=at)
    stored_editions.set_item_keys(connection, row.id,
                                  [key for key in row.item_keys if key != item_key])


def restore(connection: Connection, row: stored_editions.EditionRow, item_key: str) -> None:
    """Put an item left out back into the edition."""
    _clear(connection, row.id, item_key, OMIT)
    if item_key not in row.item_keys:
        stored_editions.set_item_keys(connection, row.id, [*row.item_keys, item_key])


def pin(connection: Connection, row: stored_editions.EditionRow, item_key: str, *,
        actor: str, at: datetime) -> None:
    """Show ``item_key`` first in its section."""
    _set(connection, row, item_key, PIN, actor=actor, at=at)


def unpin(connection: Connection, edition_id: int, item_key: str) -> None:
    """Put a pinned item back in its place in the reading order."""
    _clear(connection, edition_id, item_key, PIN)


def set_note(connection: Connection, edition_id: int, markdown: str, *, actor: str,
             at: datetime) -> None:
    """Keep the editor's note (Markdown); an empty one removes it."""
    connection.execute(edition_notes.delete().where(edition_notes.c.edition_id == edition_id))
    if markdown.strip():
        connection.execute(edition_notes.insert().values(
            edition_id=edition_id, markdown=markdown, actor=actor, at=at))


def omitted_keys(connection: Connection, digest_id: str) -> set[str]:
    """Every item key left out of any edition of the digest: never taken again."""
    return set(connection.execute(select(curations.c.item_key).where(
        curations.c.digest_id == digest_id, curations.c.action == OMIT)).scalars())


def _set(connection: Connection, row: stored_editions.EditionRow, item_key: str,
         action: Action, *, actor: str, at: datetime) -> None:
    connection.execute(curations.delete().where(curations.c.edition_id == row.id,
                                                curations.c.item_key == item_key))
    connection.execute(curations.insert().values(
        digest_id=row.digest_id, edition_id=row.id, item_key=item_key, action=action,
        actor=actor, at=at))


def _clear(connection: Connection, edition_id: int, item_key: str, action: Action) -> None:
    connection.execute(curations.delete().where(
        curations.c.edition_id == edition_id, curations.c.item_key == item_key,
        curations.c.action == action))
