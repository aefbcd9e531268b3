"""A bulletin's review decisions (``bulletin_reviews``): approved or rejected, for which
content of its file, by whom, why, and an optional ``send_at`` set by a coordinator.

Only the latest decision for a slug counts, and only for the content it was given for
(``content_hash``, the SHA-256 of the file's bytes): an edit after an approval makes the
hash differ, and the bulletin is a draft again without anything to delete here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, RowMapping, func, select

from digest.store.schema import bulletin_reviews

Decision = Literal["approved", "rejected"]
APPROVED: Decision = "approved"
REJECTED: Decision = "rejected"


@dataclass(frozen=True)
class Review:
    """The latest decision on a bulletin."""

    slug: str
    content_hash: str
    decision: Decision
    actor: str
    at: datetime
    reason: str | None  # an override's written reason, or a rejection's note
    send_at: datetime | None  # a schedule set by a coordinator, over the file's

    def covers(self, content_hash: str) -> bool:
        """Whether the decision was given for this content of the file."""
        return self.content_hash == content_hash


def _review(row: RowMapping) -> Review:
    decision: Decision = APPROVED if row["decision"] == APPROVED else REJECTED
    return Review(slug=row["slug"], content_hash=row["content_hash"], decision=decision,
                  actor=row["actor"], at=row["at"], reason=row["reason"],
                  send_at=row["send_at"])


def add(connection: Connection, *, slug: str, content_hash: str, decision: Decision,
        actor: str, at: datetime, reason: str | None = None,
        send_at: datetime | None = None) -> None:
    """Record a decision; it is the bulletin's latest from now on."""
    connection.execute(bulletin_reviews.insert().values(
        slug=slug, content_hash=content_hash, decision=decision, actor=actor[:320], at=at,
        reason=reason, send_at=send_at))


def latest(connection: Connection, slug: str) -> Review | None:
    """The bulletin's latest decision, None when it was never reviewed."""
    row = connection.execute(select(bulletin_reviews).where(bulletin_reviews.c.slug == slug)
                             .order_by(bulletin_reviews.c.id.desc()).limit(1)).mappings().first()
    return None if row is None else _review(row)


def latest_all(connection: Connection) -> dict[str, Review]:
    """Every reviewed bulletin's latest decision, by slug (one query for a whole folder)."""
    newest = (select(func.max(bulletin_reviews.c.id)).group_by(bulletin_reviews.c.slug)
              .scalar_subquery())
    rows = connection.execute(select(bulletin_reviews).where(
        bulletin_reviews.c.id.in_(newest))).mappings()
    return {row["slug"]: _review(row) for row in rows}
