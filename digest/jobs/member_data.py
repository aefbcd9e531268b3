"""A member's data rights: everything the store holds about them, and erasing them.

The export is one JSON document (the member record, their consents and what they asked
for without confirming it yet, every delivery with the mail server's answer, the bounce
reports matched to them), for the member from their
preferences page or for an operator (``digest subscribers export``). Erasing
(``store.erasure``) runs in one transaction; with the file transport, the member's copies
in ``out/outbox/`` (the product's own "sent" folder) are removed afterwards too, since the
store no longer says whose they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from digest.jobs.context import Context
from digest.mail.transports.files import eml_name
from digest.store import audit, consents, erasure, subscribers
from digest.store.erasure import Erased

EXPORT_FORMAT = "forum-digest member data, version 1"


def export_member(ctx: Context, subscriber_id: int) -> dict[str, Any] | None:
    """The member's data as one JSON-ready mapping, read in one transaction; None when
    there is no such member."""
    with ctx.db.transaction() as connection:
        record = erasure.member_record(connection, subscriber_id)
        if record is None:
            return None
        return {
            "format": EXPORT_FORMAT,
            "exported_at": ctx.clock.now().isoformat(),
            "site": {"title": ctx.settings.site.title, "url": ctx.settings.site.base_url},
            "member": record,
            "consents": consents.for_member(connection, subscriber_id),
            "unconfirmed_requests": erasure.member_requests(connection, subscriber_id),
            "deliveries": erasure.member_deliveries(connection, subscriber_id),
            "bounce_reports": erasure.member_bounces(connection, subscriber_id),
        }


def member_id(ctx: Context, email: str) -> int | None:
    """The id of the member with this address (as stored or as written); None if unknown."""
    with ctx.db.transaction() as connection:
        found = subscribers.by_email(connection, email)
    return None if found is None else found.id


def as_json(data: dict[str, Any]) -> str:
    """The export as a person may read it: indented, non-ASCII letters kept as they are."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@dataclass(frozen=True)
class Erasure:
    """What erasing a member did: the store's part, and the outbox files removed."""

    erased: Erased
    files_removed: int


def erase_member(ctx: Context, subscriber_id: int, actor: str) -> Erasure | None:
    """Erase the member for good (``store.erasure.erase``), written to the audit log as
    done by ``actor`` (``member`` from their page, ``cli``) without naming them; None when
    there is no such member (already erased: asking twice is harmless)."""
    with ctx.db.transaction() as connection:
        message_ids = [d["message_id"] for d in erasure.member_deliveries(
            connection, subscriber_id) if d["message_id"]]
        erased = erasure.erase(connection, subscriber_id, ctx.clock.now())
        if erased is not None:
            audit.record(connection, at=ctx.clock.now(), actor=actor,
                         action=audit.Action.MEMBER_ERASE, target="members",
                         detail=f"{erased.deliveries} deliveries kept as counts")
    if erased is None:
        return None
    erasure.settle(ctx.db)
    return Erasure(erased=erased, files_removed=_remove_copies(ctx, message_ids))


def _remove_copies(ctx: Context, message_ids: list[str]) -> int:
    """The file transport's copies of the erased member's messages, removed; how many."""
    if ctx.settings.delivery.transport != "file":
        return 0
    folder = ctx.settings.out_dir / "outbox"
    removed = 0
    for message_id in message_ids:
        path = folder / eml_name(message_id)
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError:
            continue  # the store is erased; a file we cannot remove stays, as a mail log
    return removed
