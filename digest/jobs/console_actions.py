"""What the console's preview pages show to act on an edition or a bulletin: its state and
why, the actions that state allows, its delivery counts, its curation (a digest's draft)
and its history from the audit log, newest first.

The actions themselves are the jobs' (``review``, ``edition_actions``, ``copies``,
``curation``), which refuse what a state does not allow whatever a page offers; this only
says which forms are worth showing, so a page offers no button that can only be refused.
Who may press them is the console's check (``web.admin.access``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from digest.jobs import curation
from digest.jobs.bulletin_state import BulletinState
from digest.jobs.context import Context
from digest.jobs.curation import EditionCuration
from digest.jobs.edition_actions import CANCELLABLE, PAUSABLE, draft_version
from digest.jobs.manual import find_edition
from digest.jobs.review import find_bulletin
from digest.store import audit, deliveries, editions
from digest.store.audit import AuditEntry
from digest.store.editions import EditionRow

HISTORY_SHOWN = 50
# Which bulletin states each review action is offered in (the jobs refuse the rest).
_BULLETIN_OFFERS = {
    "approve": (BulletinState.DRAFT, BulletinState.HELD, BulletinState.REJECTED),
    "reject": (BulletinState.DRAFT, BulletinState.HELD, BulletinState.SCHEDULED,
               BulletinState.DUE),
    "schedule": (BulletinState.SCHEDULED, BulletinState.DUE),
}


@dataclass(frozen=True)
class Panel:
    """One target's state and what can be done to it now.

    ``state``: a bulletin's (``jobs.bulletin_state``) or an edition's status; ``why``: a
    bulletin's line of ``digest status``; ``offers``: the action names the state allows
    (``test``, ``approve``, ``reject``, ``schedule``, ``pause``, ``resume``, ``cancel``,
    ``retry-failed``, ``curate``); ``edition``: the edition acted on by ``pause``... (a
    bulletin's once it is sent)."""

    target: str
    state: str
    why: str = ""
    send_at: datetime | None = None
    content_hash: str = ""
    draft_version: str = ""  # a draft edition's, for its approval (what the approver saw)
    needs_reason: bool = False  # an approval overrides lint errors: a reason is required
    edition: EditionRow | None = None
    counts: dict[str, int] = field(default_factory=dict)
    offers: frozenset[str] = frozenset()
    history: tuple[AuditEntry, ...] = ()
    curation: EditionCuration | None = None


def bulletin_panel(ctx: Context, slug: str) -> Panel:
    """The bulletin ``slug``'s panel (``InputError``: no such bulletin, or unreadable)."""
    status = find_bulletin(ctx, slug).status
    offers = {name for name, states in _BULLETIN_OFFERS.items() if status.state in states}
    offers.add("test")
    edition = status.edition
    counts: dict[str, int] = {}
    targets = [status.target]
    if edition is not None:
        edition = find_edition(ctx, edition.label)
        targets.append(edition.label)
        counts = _counts(ctx, edition)
        offers |= _edition_offers(ctx, edition, counts) - {"approve", "curate", "test"}
    return Panel(target=status.target, state=str(status.state), why=status.why(ctx),
                 send_at=status.send_at, content_hash=status.content_hash,
                 needs_reason=bool(status.errors), edition=edition, counts=counts,
                 offers=frozenset(offers), history=_history(ctx, targets))


def edition_panel(ctx: Context, label: str) -> Panel:
    """The edition ``label``'s panel (``InputError``: no such edition)."""
    row = find_edition(ctx, label)
    counts = _counts(ctx, row)
    offers = _edition_offers(ctx, row, counts)
    chosen = curation.current(ctx, label) if "curate" in offers else None
    version = draft_version(ctx, row) if "approve" in offers else ""
    return Panel(target=row.label, state=str(row.status), edition=row, counts=counts,
                 offers=frozenset(offers), history=_history(ctx, [row.label]),
                 curation=chosen, draft_version=version)


def _edition_offers(ctx: Context, row: EditionRow, counts: dict[str, int]) -> set[str]:
    offers = {"test"}
    if row.status == editions.DRAFT:
        offers.add("approve")
        if not row.series.is_bulletin and ctx.settings.digest(row.digest_id) is not None:
            offers.add("curate")
    if row.status in PAUSABLE:
        offers.add("pause")
    if row.status == editions.PAUSED:
        offers.add("resume")
    if row.status in CANCELLABLE:
        with ctx.db.transaction() as connection:
            if not deliveries.started(connection, row.id):
                offers.add("cancel")
    if counts.get("failed", 0):
        offers.add("retry-failed")
    return offers


def _counts(ctx: Context, row: EditionRow) -> dict[str, int]:
    with ctx.db.transaction() as connection:
        return deliveries.counts(connection, row.id)


def _history(ctx: Context, targets: list[str]) -> tuple[AuditEntry, ...]:
    with ctx.db.transaction() as connection:
        found = [e for target in targets for e in audit.for_target(connection, target,
                                                                    HISTORY_SHOWN)]
    found.sort(key=lambda e: (e.at, e.id), reverse=True)
    return tuple(found[:HISTORY_SHOWN])

