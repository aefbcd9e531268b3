"""Where a bulletin is in its life, from its file, its lint and the store (docs/console.md,
"A bulletin's life").

In this order: ``sent`` (its edition exists), ``cancelled`` (its edition was cancelled
before any message), ``rejected`` (the latest review rejects this content), ``held`` (lint
errors and no approval with an override reason for this content), ``draft`` (not approved
for this content while approval is required), ``scheduled`` (approved, its ``send_at`` to
come), ``due`` (the next run sends it once). Only ``due`` and ``sent`` ones are published.

An approval holds for the file's bytes it was given for (their SHA-256): an edit makes
the bulletin a draft again. The lint is the one ``digest preview`` prints.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from digest.bulletins import MAX_BULLETIN_BYTES
from digest.dates import console_stamp
from digest.errors import InputError
from digest.identifiers import EditionSeries
from digest.jobs.context import Context
from digest.jobs.problems import bulletin_problems
from digest.models import Bulletin, RenderedEmail
from digest.reading import read_bounded
from digest.render.lint import Problem
from digest.store import editions, reviews
from digest.store.editions import EditionRow
from digest.store.reviews import Review


class BulletinState(StrEnum):
    """A bulletin's state; see the module's description for the order they are decided in."""

    SENT = "sent"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    HELD = "held"
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    DUE = "due"


PUBLISHED = (BulletinState.DUE, BulletinState.SENT)
"""The states in which a bulletin is written under out/, archived, in the feeds, served."""
WAITING_FOR_REVIEW = (BulletinState.HELD, BulletinState.DRAFT, BulletinState.REJECTED)
"""The states in which a bulletin goes nowhere until a coordinator acts (or its file is
edited): the run summary then says how to open the console."""


@dataclass(frozen=True)
class BulletinStatus:
    """A bulletin's state with what decided it."""

    slug: str
    source_path: str
    state: BulletinState
    problems: tuple[Problem, ...]
    content_hash: str
    review: Review | None  # its latest review, for whichever content
    send_at: datetime | None  # the review's schedule, else the file's
    edition: EditionRow | None

    @property
    def target(self) -> str:
        """How the audit log and the commands name it: ``bulletin:<slug>``."""
        return str(EditionSeries.of_bulletin(self.slug))

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def published(self) -> bool:
        return self.state in PUBLISHED

    def why(self, ctx: Context) -> str:
        """One line for the run summary and ``digest status``: the state and what to do."""
        zone = ctx.settings.site.zone
        approve = f"digest approve {self.target}"
        match self.state:
            case BulletinState.SENT:
                return f"sent as {self.edition.label}" if self.edition else "sent"
            case BulletinState.CANCELLED:
                return "its edition was cancelled before any message: never sent"
            case BulletinState.REJECTED:
                who = self.review.actor if self.review else "?"
                note = self.review.reason if self.review else ""
                return (f"rejected by {who}: {note}; not sent, not published (edit the file "
                        "to make it a draft again)")
            case BulletinState.HELD:
                count = len(self.errors)
                return (f"held: {count} lint error{'s' if count != 1 else ''}; not sent, "
                        f"not published (fix them, or `{approve} --reason TEXT` to override)")
            case BulletinState.DRAFT:
                return f"draft, waiting for `{approve}`; not sent, not published"
            case BulletinState.SCHEDULED:
                when = console_stamp(self.send_at, zone) if self.send_at else "?"
                return f"not due until {when}, not published"
        return "the next run sends it once"


def content_hash(data: bytes) -> str:
    """The SHA-256 (hex) an approval is tied to."""
    return hashlib.sha256(data).hexdigest()


def file_hash(path: str | Path) -> str:
    """The hash of a bulletin file's bytes as they are now (read as the loader reads it)."""
    try:
        return content_hash(read_bounded(Path(path), MAX_BULLETIN_BYTES))
    except OSError as exc:
        raise InputError(f"{path}: unreadable: {exc}") from None


def decide(*, edition: EditionRow | None, review: Review | None, content: str, errors: bool,
           approval: bool, file_send_at: datetime | None, now: datetime,
           ) -> tuple[BulletinState, datetime | None]:
    """The state (and the ``send_at`` that counts) from what is known of the bulletin."""
    current = review if review is not None and review.covers(content) else None
    send_at = (current.send_at if current and current.send_at else None) or file_send_at
    if edition is not None:
        state = (BulletinState.CANCELLED if edition.status == editions.CANCELLED
                 else BulletinState.SENT)
        return state, send_at
    if current is not None and current.decision == reviews.REJECTED:
        return BulletinState.REJECTED, send_at
    approved = current is not None and current.decision == reviews.APPROVED
    if errors and not (approved and current is not None and current.reason):
        return BulletinState.HELD, send_at
    if approval and not approved:
        return BulletinState.DRAFT, send_at
    if send_at is not None and send_at > now:
        return BulletinState.SCHEDULED, send_at
    return BulletinState.DUE, send_at


def bulletin_status(ctx: Context, bulletin: Bulletin, email: RenderedEmail,
                    content: str | None = None) -> BulletinStatus:
    """The bulletin's state now; ``content`` is its file's hash when the caller has it."""
    problems = tuple(bulletin_problems(bulletin, email))
    content = content or file_hash(bulletin.source_path)
    with ctx.db.transaction() as connection:
        edition = editions.latest(connection, str(EditionSeries.of_bulletin(bulletin.slug)))
        review = reviews.latest(connection, bulletin.slug)
    settings = ctx.settings.bulletins
    state, send_at = decide(
        edition=edition, review=review, content=content,
        errors=any(p.severity == "error" for p in problems),
        approval=settings.approval if settings else True, file_send_at=bulletin.send_at,
        now=ctx.clock.now())
    return BulletinStatus(slug=bulletin.slug, source_path=bulletin.source_path, state=state,
                          problems=problems, content_hash=content, review=review,
                          send_at=send_at, edition=edition)
