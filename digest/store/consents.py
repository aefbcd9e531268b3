"""A member's consent records, as the data export shows them.

Stand-in until the joining slice lands: only ``for_member``, with the signature and shape
that slice keeps (``record`` and ``confirm`` come with it).
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from digest.store.member_tables import consents


def for_member(connection: Connection, subscriber_id: int) -> list[dict[str, object]]:
    """Each consent the member gave, oldest first: the page, the wording shown, its
    language, when given and when confirmed (ISO 8601; None while not confirmed)."""
    rows = connection.execute(select(consents).where(
        consents.c.subscriber_id == subscriber_id).order_by(consents.c.id)).mappings()
    return [{"page": row["page"], "wording": row["wording"], "language": row["language"],
             "given_at": row["given_at"].isoformat(),
             "confirmed_at": row["confirmed_at"].isoformat() if row["confirmed_at"] else None}
            for row in rows]
