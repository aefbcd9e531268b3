"""Forum members: imported from CSV once, compared case-insensitively, never resurrected.

An import only adds addresses the store does not know; an unsubscribed or bounced member
stays so whatever a later CSV says.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, RowMapping, func, select

from digest.errors import InputError
from digest.models import Subscriber, SubscriberStatus
from digest.store.schema import subscribers

CSV_COLUMNS = ("email", "name", "language", "digests", "themes")


@dataclass
class ImportResult:
    added: int = 0
    known: int = 0
    problems: list[str] = field(default_factory=list)


def normalise_email(address: str) -> str:
    """Validate an address (syntax only, no DNS) and return its comparable form."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InputError(f"invalid email address {address!r}: {exc}") from None


def _split(cell: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (cell or "").replace(",", ";").split(";")
                 if part.strip())


def _to_subscriber(row: RowMapping) -> Subscriber:
    return Subscriber(
        id=row["id"], email=row["email"], name=row["name"], language=row["language"],
        digests=tuple(row["digests"]), themes=tuple(row["themes"]),
        status=SubscriberStatus(row["status"]),
    )


def count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(subscribers)).scalar() or 0)


def add(connection: Connection, subscriber: Subscriber, now: datetime) -> bool:
    """Add a member unless the address is known; True when added."""
    email = normalise_email(subscriber.email)
    if connection.execute(select(subscribers.c.id).where(subscribers.c.email == email)).first():
        return False
    connection.execute(subscribers.insert().values(
        email=email, name=subscriber.name, language=subscriber.language,
        digests=list(subscriber.digests), themes=list(subscriber.themes),
        status=subscriber.status.value, created_at=now))
    return True


def import_csv(connection: Connection, path: Path, now: datetime, default_language: str,
               known_digests: Iterable[str], known_themes: Iterable[str]) -> ImportResult:
    """Import members from CSV; bad rows are reported with their line, the rest imported."""
    result = ImportResult()
    digests_ok, themes_ok = set(known_digests), set(known_themes)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = {"email"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path}:1: missing column(s): {', '.join(sorted(missing))}")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            try:
                digests, themes = _split(row.get("digests")), _split(row.get("themes"))
                if unknown := [d for d in digests if d not in digests_ok]:
                    raise InputError(f"unknown digest(s): {', '.join(unknown)}")
                if unknown := [t for t in themes if t not in themes_ok]:
                    raise InputError(f"unknown theme(s): {', '.join(unknown)}")
                member = Subscriber(
                    email=row.get("email") or "", name=(row.get("name") or "").strip(),
                    language=(row.get("language") or default_language).strip().lower(),
                    digests=digests or tuple(sorted(digests_ok)), themes=themes)
                if add(connection, member, now):
                    result.added += 1
                else:
                    result.known += 1
            except InputError as exc:
                result.problems.append(f"{where}: {exc}")
    return result


def active_for(connection: Connection, digest_id: str | None) -> list[Subscriber]:
    """Active members following a digest (all active members when ``digest_id`` is None)."""
    rows = connection.execute(
        select(subscribers).where(subscribers.c.status == SubscriberStatus.ACTIVE.value)
        .order_by(subscribers.c.id)
    ).mappings()
    members = [_to_subscriber(row) for row in rows]
    return [m for m in members if digest_id is None or digest_id in m.digests]


def all_members(connection: Connection) -> list[Subscriber]:
    rows = connection.execute(select(subscribers).order_by(subscribers.c.email)).mappings()
    return [_to_subscriber(row) for row in rows]


def set_status(connection: Connection, email: str, status: SubscriberStatus) -> bool:
    """Change a member's state; False when the address is unknown."""
    result = connection.execute(
        subscribers.update().where(subscribers.c.email == normalise_email(email))
        .values(status=status.value))
    return bool(result.rowcount)


def by_id(connection: Connection, subscriber_id: int) -> Subscriber | None:
    row = connection.execute(
        select(subscribers).where(subscribers.c.id == subscriber_id)).mappings().first()
    return None if row is None else _to_subscriber(row)


def set_status_by_id(connection: Connection, subscriber_id: int,
                     status: SubscriberStatus) -> bool:
    """Change a member's state by id (an unsubscribe link, a bounce); False when unknown.

    A member who already left stays as they are: a bounce does not turn an unsubscribed
    member into a bounced one, nor an unsubscribe a bounced one."""
    result = connection.execute(
        subscribers.update().where(subscribers.c.id == subscriber_id,
                                   subscribers.c.status == SubscriberStatus.ACTIVE.value)
        .values(status=status.value))
    if result.rowcount:
        return True
    return by_id(connection, subscriber_id) is not None


def set_preferences(connection: Connection, subscriber_id: int, themes: Iterable[str],
                    language: str) -> bool:
    """Store a member's chosen themes (empty: all) and language; False when unknown."""
    result = connection.execute(
        subscribers.update().where(subscribers.c.id == subscriber_id)
        .values(themes=sorted(set(themes)), language=language))
    return bool(result.rowcount)


def reactivate(connection: Connection, subscriber_id: int) -> bool:
    """Subscribe again a member who unsubscribed, at their own request (a signed link).

    Never a bounced member (their address is dead) and never from an import: only the
    member can undo their unsubscribe."""
    result = connection.execute(
        subscribers.update().where(subscribers.c.id == subscriber_id,
                                   subscribers.c.status == SubscriberStatus.UNSUBSCRIBED.value)
        .values(status=SubscriberStatus.ACTIVE.value))
    return bool(result.rowcount)
