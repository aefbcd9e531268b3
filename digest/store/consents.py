"""Consent: what a person agreed to on the subscribe page, and what they asked for.

A consent row says when (``given_at``), through which page (``/subscribe`` or
``/subscribe/embed``), in which words (the sentence as shown, in its language) and, once
the mailed link is followed, when it was confirmed. Beside it, ``join_choices`` keeps the
name, language, digests and themes asked for, which become the member's only on
confirmation (``confirm``): a stranger typing a known address changes nothing of theirs,
and an active member's choices change only from their preferences (an older link of theirs
confirms nothing more).

Rows are never updated except ``confirmed_at``; asking twice makes two rows, each with its
own link, so the record shows every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, exists, insert, select

from digest.models import SubscriberStatus
from digest.store.keys import fits_integer
from digest.store.member_tables import consents, join_choices
from digest.store.schema import subscribers


@dataclass(frozen=True)
class Choices:
    """What a person asked for on the subscribe page (checked before it is stored)."""

    name: str
    language: str
    digests: tuple[str, ...]
    themes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Consent:
    """One stored consent and the choices it came with (None for a row without them)."""

    id: int
    subscriber_id: int
    page: str
    language: str
    given_at: datetime
    confirmed_at: datetime | None
    choices: Choices | None


def record(connection: Connection, subscriber_id: int, page: str, wording: str,
           language: str, now: datetime, choices: Choices | None = None) -> int:
    """Store a consent given now (unconfirmed), with the choices it asks for; its id."""
    consent_id = connection.execute(insert(consents).values(
        subscriber_id=subscriber_id, page=page, wording=wording, language=language,
        given_at=now).returning(consents.c.id)).scalar_one()
    if choices is not None:
        connection.execute(insert(join_choices).values(
            consent_id=consent_id, name=choices.name, language=choices.language,
            digests=list(choices.digests), themes=list(choices.themes)))
    return int(consent_id)


def by_id(connection: Connection, consent_id: int) -> Consent | None:
    """The consent a confirmation link names, None when unknown (or erased)."""
    if not fits_integer(consent_id):
        return None
    row = connection.execute(
        select(consents, join_choices.c.name, join_choices.c.language.label("wants_language"),
               join_choices.c.digests, join_choices.c.themes)
        .outerjoin(join_choices, join_choices.c.consent_id == consents.c.id)
        .where(consents.c.id == consent_id)).mappings().first()
    if row is None:
        return None
    choices = None if row["digests"] is None else Choices(
        name=row["name"], language=row["wants_language"], digests=tuple(row["digests"]),
        themes=tuple(row["themes"]))
    return Consent(id=row["id"], subscriber_id=row["subscriber_id"], page=row["page"],
                   language=row["language"], given_at=row["given_at"],
                   confirmed_at=row["confirmed_at"], choices=choices)


def confirm(connection: Connection, consent_id: int, now: datetime) -> bool:
    """Confirm a consent: its member takes its choices and becomes active, unless their
    mail bounced (only the forum's team can have an address checked) or they are active
    already (their choices are theirs to change). False when the consent was confirmed
    already, or the member bounced or is active: nothing changes then."""
    consent = by_id(connection, consent_id)
    if consent is None or consent.confirmed_at is not None:
        return False
    status = connection.execute(select(subscribers.c.status).where(
        subscribers.c.id == consent.subscriber_id)).scalar()
    waiting = (SubscriberStatus.PENDING.value, SubscriberStatus.UNSUBSCRIBED.value)
    if status not in waiting:
        return False
    values: dict[str, object] = {"status": SubscriberStatus.ACTIVE.value}
    if consent.choices is not None:
        values.update(name=consent.choices.name, language=consent.choices.language,
                      digests=list(consent.choices.digests),
                      themes=sorted(set(consent.choices.themes)))
    changed = connection.execute(subscribers.update().where(
        subscribers.c.id == consent.subscriber_id, subscribers.c.status.in_(waiting))
        .values(**values))
    if not changed.rowcount:  # its state changed an instant ago
        return False
    result = connection.execute(consents.update().where(
        consents.c.id == consent_id, consents.c.confirmed_at.is_(None))
        .values(confirmed_at=now))
    return bool(result.rowcount)


def for_member(connection: Connection, subscriber_id: int) -> list[dict[str, object]]:
    """A member's consents, oldest first, as their data export shows them: ``page``,
    ``wording``, ``language``, ``given_at`` and ``confirmed_at`` (ISO 8601, or None)."""
    rows = connection.execute(select(consents).where(
        consents.c.subscriber_id == subscriber_id).order_by(consents.c.id)).mappings()
    return [{"page": row["page"], "wording": row["wording"], "language": row["language"],
             "given_at": row["given_at"].isoformat(),
             "confirmed_at": (row["confirmed_at"].isoformat()
                              if row["confirmed_at"] is not None else None)}
            for row in rows]



def forget_unconfirmed(connection: Connection, given_before: datetime) -> int:
    """Delete the pending members who asked only before ``given_before`` and never
    confirmed (their links have expired): an address nobody confirmed is not kept. A
    pending member without any consent (an import's) is left alone. How many went."""
    asked = select(consents.c.id).where(consents.c.subscriber_id == subscribers.c.id)
    recent_or_confirmed = asked.where((consents.c.given_at >= given_before)
                                      | consents.c.confirmed_at.is_not(None))
    result = connection.execute(delete(subscribers).where(
        subscribers.c.status == SubscriberStatus.PENDING.value,
        exists(asked), ~exists(recent_or_confirmed)))
    return int(result.rowcount or 0)
