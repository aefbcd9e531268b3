"""Curating a digest draft before its approval: leave an item out, pin one first, write
the editor's note. What the console's edition page and ``digest curate`` call.

Only a draft can be curated (``InputError`` otherwise): what goes out is what was
approved. Each change is made in one transaction with its audit row, holding the draft
row so that an approval made at the same moment waits for it. Nothing is written where
``digest serve`` serves: the console renders the curated draft itself, and its web version
and PDF are published, curated, when it goes out (``jobs.publication``). Asking for the
state an item is already in changes nothing and records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from digest.config import DigestSettings
from digest.errors import InputError
from digest.jobs.context import Context
from digest.jobs.curated import note_html
from digest.models import Item
from digest.store import audit, curation, editions, items
from digest.store.curation import Curation
from digest.store.editions import EditionRow

NOTE_LIMIT = 8 * 1024
"""The longest note (bytes of Markdown): a few paragraphs above the items, not an article;
the email must stay under Gmail's clipping size with the items beside it."""


@dataclass(frozen=True)
class EditionCuration:
    """An edition and its curation: its items (frozen order) and those left out (to offer
    them back)."""

    row: EditionRow
    curation: Curation
    kept_items: tuple[Item, ...]
    omitted_items: tuple[Item, ...]


Change = Callable[[Connection, EditionRow, Curation], bool]  # True: something changed


def current(ctx: Context, label: str) -> EditionCuration:
    """The edition named ``label`` and its curation, whatever its status."""
    with ctx.db.transaction() as connection:
        row = _find(connection, label)
        chosen = curation.curation(connection, row.id)
        kept = items.items_by_keys(connection, row.item_keys)
        left_out = items.items_by_keys(connection, chosen.omitted)
    return EditionCuration(row, chosen, tuple(kept), tuple(left_out))


def omit(ctx: Context, label: str, item_key: str, actor: str) -> EditionCuration:
    """Leave an item out of the draft (and of every later edition of its digest)."""
    def change(connection: Connection, row: EditionRow, chosen: Curation) -> bool:
        if item_key in chosen.omitted:
            return False
        _known(row, chosen, item_key)
        curation.omit(connection, row, item_key, actor=actor, at=ctx.clock.now())
        return True
    return _curate(ctx, label, actor, audit.Action.OMIT, item_key, change)


def restore(ctx: Context, label: str, item_key: str, actor: str) -> EditionCuration:
    """Put an item left out of the draft back in."""
    def change(connection: Connection, row: EditionRow, chosen: Curation) -> bool:
        _known(row, chosen, item_key)
        if item_key not in chosen.omitted:
            return False
        curation.restore(connection, row, item_key)
        return True
    return _curate(ctx, label, actor, audit.Action.RESTORE, item_key, change)


def pin(ctx: Context, label: str, item_key: str, actor: str) -> EditionCuration:
    """Show an item of the draft first in its section."""
    def change(connection: Connection, row: EditionRow, chosen: Curation) -> bool:
        _known(row, chosen, item_key)
        if item_key in chosen.omitted:
            raise InputError(f"{item_key} is left out of {row.label}: restore it first")
        if item_key in chosen.pinned:
            return False
        curation.pin(connection, row, item_key, actor=actor, at=ctx.clock.now())
        return True
    return _curate(ctx, label, actor, audit.Action.PIN, item_key, change)


def unpin(ctx: Context, label: str, item_key: str, actor: str) -> EditionCuration:
    """Put a pinned item of the draft back in its place."""
    def change(connection: Connection, row: EditionRow, chosen: Curation) -> bool:
        _known(row, chosen, item_key)
        if item_key not in chosen.pinned:
            return False
        curation.unpin(connection, row.id, item_key)
        return True
    return _curate(ctx, label, actor, audit.Action.UNPIN, item_key, change)


class NoteChangedError(InputError):
    """Another coordinator saved the note since the writer opened it."""


def set_note(ctx: Context, label: str, markdown: str, actor: str, *,
             based_on: str | None = None) -> EditionCuration:
    """Write (or, empty, remove) the editor's note shown above the draft's items.

    Markdown without raw HTML, sanitised like collected summaries; over ``NOTE_LIMIT``
    bytes, or with nothing left to show once sanitised, it is refused. ``based_on`` is
    the ``note_version`` the writer started from (the console's form): when another
    coordinator saved a different note since, it is refused (``NoteChangedError``)
    rather than overwritten unseen."""
    text = markdown.replace("\r\n", "\n").strip()
    size = len(text.encode("utf-8"))
    if size > NOTE_LIMIT:
        raise InputError(f"the note is {size} bytes, over the {NOTE_LIMIT} allowed: "
                         "keep it to a few paragraphs")
    if text and not note_html(text):
        raise InputError("the note shows nothing once made safe: write it in Markdown")

    def change(connection: Connection, row: EditionRow, chosen: Curation) -> bool:
        if (chosen.note.markdown if chosen.note else "") == text:
            return False
        if based_on is not None and based_on != chosen.note_version:
            raise NoteChangedError(f"{row.label}: the note changed since you opened it; "
                                   "yours is kept in the form, the saved one beside it")
        curation.set_note(connection, row.id, text, actor=actor, at=ctx.clock.now())
        return True
    return _curate(ctx, label, actor, audit.Action.NOTE if text else audit.Action.NOTE_REMOVED,
                   f"{size} bytes" if text else None, change)


def _curate(ctx: Context, label: str, actor: str, action: audit.Action, detail: str | None,
            change: Change) -> EditionCuration:
    """Make one change to a draft with its audit row."""
    with ctx.db.transaction() as connection:
        row = _find(connection, label)
        _digest(ctx, row)  # refused when the digest is no longer in the config
        if not curation.lock_draft(connection, row.id):
            raise InputError(f"{row.label} is {row.status}, not a draft: only a draft "
                             "waiting for approval can be curated")
        row = _find(connection, label)  # as it is now that it is held
        changed = change(connection, row, curation.curation(connection, row.id))
        if changed:
            audit.record(connection, at=ctx.clock.now(), actor=actor, action=action,
                         target=row.label, detail=detail)
    return current(ctx, label)


def _known(row: EditionRow, chosen: Curation, item_key: str) -> None:
    if item_key not in row.item_keys and item_key not in chosen.omitted:
        raise InputError(f"{row.label} has no item {item_key!r} (see the edition's page "
                         "for its items' keys)")


def _find(connection: Connection, label: str) -> EditionRow:
    row = editions.by_label(connection, label)
    if row is None:
        raise InputError(f"no edition {label!r} (see `digest status`)")
    return row


def _digest(ctx: Context, row: EditionRow) -> DigestSettings:
    digest = None if row.series.is_bulletin else ctx.settings.digest(row.digest_id)
    if digest is None:
        raise InputError(f"{row.label} is not an edition of a configured digest: only a "
                         "digest's draft can be curated")
    return digest
