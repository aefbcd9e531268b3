"""Forum members: imported from CSV once, compared case-insensitively, never resurrected.

An import only adds addresses the store does not know; an unsubscribed or bounced member
stays so whatever a later CSV says. Adding is an ``INSERT ... ON CONFLICT DO NOTHING``, so
two runs importing the same file at once both finish, and no address is stored twice.

Every member is checked before it is stored, whoever adds it (CSV, ``subscribers add``): an
address the product can deliver to, a BCP 47 language tag, a name of one short line.
Messages are sent without SMTPUTF8, so an address with non-ASCII characters before the ``@``
is refused here, with its line, rather than failing at every edition; a non-ASCII domain is
stored in its ASCII (IDNA) form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, RowMapping, func, select

from digest.config import deliverable_address
from digest.errors import InputError
from digest.languages import language_tag
from digest.models import Subscriber, SubscriberStatus
from digest.store import audience
from digest.store.keys import fits_integer, plain_text
from digest.store.member_csv import (
    MAX_FIELD_CHARS,
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    MembersCsv,
)
from digest.store.member_tables import suppressed_addresses
from digest.store.schema import subscribers
from digest.store.upsert import dialect_insert


@dataclass
class ImportResult:
    """What an import did: members added, addresses already known, and each refused row
    as ``FILE:LINE: what is wrong``, in file order."""

    added: int = 0
    known: int = 0
    problems: list[str] = field(default_factory=list)


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def normalise_email(address: str) -> str:
    """Validate an address the product can deliver to (syntax only, no DNS; the rule of
    ``config.deliverable_address``) and return its comparable form: lower case, the domain
    in ASCII."""
    shown = address if len(address) <= 80 else address[:80] + "..."
    try:
        return deliverable_address(address.strip()).lower()
    except ValueError as exc:
        raise InputError(f"invalid email address {shown!r}: {exc}") from None


def _known_forms(address: str) -> list[str]:
    """The stored forms an address given to ``remove`` may have: the checked form, or as
    written (a member stored before addresses were checked this way)."""
    written = address.strip().lower()
    try:
        return [normalise_email(address), written]
    except InputError:
        return [written]


def _checked(subscriber: Subscriber) -> Subscriber:
    """The member as stored, or ``InputError`` saying which value is wrong."""
    email = normalise_email(subscriber.email)
    language = _language(subscriber.language)
    name = subscriber.name.strip()
    if len(name) > MAX_FIELD_CHARS or _CONTROL.search(name):
        raise InputError(f"name: expected one line of at most {MAX_FIELD_CHARS} characters")
    return Subscriber(id=subscriber.id, email=email, name=name, language=language,
                      digests=subscriber.digests, themes=subscriber.themes,
                      status=subscriber.status)


def _language(value: str) -> str:
    """A member's language tag, or ``InputError`` saying why it is none."""
    try:
        return language_tag(value)
    except ValueError as exc:
        raise InputError(f"language: {exc}") from None


def _split(cell: str) -> tuple[str, ...]:
    """The values of a list cell: separated by ``;`` (a ``,`` is taken as one too)."""
    return tuple(part.strip() for part in cell.replace(",", ";").split(";") if part.strip())


def _to_subscriber(row: RowMapping) -> Subscriber:
    return Subscriber(
        id=row["id"], email=row["email"], name=row["name"], language=row["language"],
        digests=tuple(row["digests"]), themes=tuple(row["themes"]),
        status=SubscriberStatus(row["status"]),
    )


def count(connection: Connection) -> int:
    """How many members are stored, whatever their state: the config's members CSV is
    imported only into a store that has none."""
    return int(connection.execute(select(func.count()).select_from(subscribers)).scalar() or 0)


def add(connection: Connection, subscriber: Subscriber, now: datetime) -> bool:
    """Add a member unless the address is known (also by a process adding it at the same
    moment); True when added. ``InputError`` when a value is wrong."""
    member = _checked(subscriber)
    insert = dialect_insert(connection)
    result = connection.execute(insert(subscribers).values(
        email=member.email, name=member.name, language=member.language,
        digests=list(member.digests), themes=list(member.themes),
        status=member.status.value, created_at=now).on_conflict_do_nothing(
            index_elements=["email"]).returning(subscribers.c.id))
    return result.first() is not None  # rowcount is -1 on PostgreSQL when RETURNING


@dataclass(frozen=True)
class MemberRules:
    """What a new member's values are checked against: the config's digests (in the order
    a member who names none gets them) and themes, and the site's language."""

    default_language: str
    digests: tuple[str, ...]
    themes: frozenset[str]

    @classmethod
    def of(cls, default_language: str, digests: Iterable[str],
           themes: Iterable[str]) -> MemberRules:
        """The rules of a config: its digest ids and theme slugs, its site language."""
        return cls(default_language, tuple(sorted(set(digests))), frozenset(themes))


def member_from_values(email: str, name: str, language: str, digests: str, themes: str,
                       rules: MemberRules) -> Subscriber:
    """A member from the values a person typed (a CSV row, ``subscribers add``), checked:
    ``digests`` and ``themes`` lists separated by ``;`` (empty digests: every digest;
    empty themes: every theme), ``language`` a BCP 47 tag (empty: the site's). An unknown
    digest or theme, or a wrong value, is ``InputError`` saying which."""
    chosen_digests, chosen_themes = _split(digests), _split(themes)
    if unknown := [d for d in chosen_digests if d not in rules.digests]:
        raise InputError(f"unknown digest(s): {', '.join(unknown)}")
    if unknown := [t for t in chosen_themes if t not in rules.themes]:
        raise InputError(f"unknown theme(s): {', '.join(unknown)}")
    typed = _language(language).lower() if language.strip() else rules.default_language
    return _checked(Subscriber(
        email=email, name=name, language=typed,
        digests=chosen_digests or rules.digests, themes=chosen_themes))


def member_from_row(values: Mapping[str, str], rules: MemberRules) -> Subscriber:
    """The member a CSV row describes (its columns ``COLUMNS``), checked as
    ``member_from_values`` does; ``status`` empty is active. The status is kept only when
    the member is added: a known member's state never changes by import."""
    member = member_from_values(
        values.get("email") or "", values.get("name") or "", values.get("language") or "",
        values.get("digests") or "", values.get("themes") or "", rules)
    status = (values.get("status") or "").strip().lower() or SubscriberStatus.ACTIVE.value
    if status not in {s.value for s in SubscriberStatus}:
        raise InputError("status: expected active, unsubscribed or bounced")
    return Subscriber(email=member.email, name=member.name, language=member.language,
                      digests=member.digests, themes=member.themes,
                      status=SubscriberStatus(status))


ERASED = "erased at the member's request; they may subscribe again themselves"


def refuse_erased(connection: Connection, email: str) -> None:
    """``InputError`` when ``email`` was erased at its owner's request: only they may put
    it back (by subscribing anew), never an import, ``subscribers add`` or a test copy."""
    erased_check(connection)(email)


def erased_check(connection: Connection) -> Callable[[str], None]:
    """``refuse_erased`` for many addresses (an import's rows), the list read once."""
    from digest.store.suppression import address_hash  # it imports this module

    hashes = set(connection.execute(select(suppressed_addresses.c.address_hash)).scalars())

    def check(email: str) -> None:
        if hashes and address_hash(email) in hashes:
            raise InputError(f"{normalise_email(email)} was {ERASED}")

    return check


def import_csv(connection: Connection, path: Path, now: datetime, default_language: str,
               known_digests: Iterable[str], known_themes: Iterable[str]) -> ImportResult:
    """Import members from CSV; bad rows (an erased address among them) are reported with
    their line, the rest imported. The file is streamed and stored ``_BATCH`` members per
    statement, so a million members take bounded memory and one pass."""
    rules = MemberRules.of(default_language, known_digests, known_themes)
    result = ImportResult()
    refused: list[tuple[int, str]] = []
    refuse = erased_check(connection)
    batch: dict[str, Subscriber] = {}
    with MembersCsv(path, max_bytes=MAX_IMPORT_BYTES, max_rows=MAX_IMPORT_ROWS) as read:
        for row in read.rows():
            try:
                member = member_from_row(row.values, rules)
                refuse(member.email)
            except InputError as exc:
                refused.append((row.line, f"{path}:{row.line}: {exc}"))
                continue
            if member.email in batch:  # the first row of an address wins, as one by one
                result.known += 1
                continue
            batch[member.email] = member
            if len(batch) >= _BATCH:
                _add_batch(connection, batch, now, result)
        _add_batch(connection, batch, now, result)
        refused.extend(read.problems)
    if result.added >= audience.ANALYZE_AFTER:
        audience.analyze(connection, subscribers.name)
    result.problems = [problem for _, problem in sorted(refused, key=lambda pair: pair[0])]
    return result


_BATCH = 2_000


def _add_batch(connection: Connection, batch: dict[str, Subscriber], now: datetime,
               result: ImportResult) -> None:
    """Add checked members not known yet in one statement (``add``'s rule), count, empty."""
    if not batch:
        return
    insert = dialect_insert(connection)
    added = len(connection.execute(
        insert(subscribers).on_conflict_do_nothing(index_elements=["email"])
        .returning(subscribers.c.id),
        [{"email": m.email, "name": m.name, "language": m.language, "digests": list(m.digests),
          "themes": list(m.themes), "status": m.status.value, "created_at": now}
         for m in batch.values()]).all())
    result.added += added
    result.known += len(batch) - added
    batch.clear()


def active_for(connection: Connection, digest_id: str | None) -> list[Subscriber]:
    """Active members following a digest (all active members when ``digest_id`` is None)."""
    rows = connection.execute(
        select(subscribers).where(subscribers.c.status == SubscriberStatus.ACTIVE.value)
        .order_by(subscribers.c.id)
    ).mappings()
    members = [_to_subscriber(row) for row in rows]
    return [m for m in members if digest_id is None or digest_id in m.digests]


def by_emails(connection: Connection, emails: Iterable[str]) -> dict[str, Subscriber]:
    """The stored members among these (checked) addresses, by address."""
    wanted, found = sorted(set(emails)), {}
    for start in range(0, len(wanted), 500):  # bounded IN lists
        rows = connection.execute(select(subscribers).where(
            subscribers.c.email.in_(wanted[start:start + 500]))).mappings()
        found.update({row["email"]: _to_subscriber(row) for row in rows})
    return found


def update_values(connection: Connection, member: Subscriber) -> bool:
    """Store a known member's name, language, digests and themes as an import says (never
    their state); False when the address is unknown."""
    result = connection.execute(
        subscribers.update().where(subscribers.c.email == member.email).values(
            name=member.name, language=member.language, digests=list(member.digests),
            themes=list(member.themes)))
    return bool(result.rowcount)


def all_members(connection: Connection) -> list[Subscriber]:
    """Every member, whatever their state, by address: what ``subscribers list`` shows."""
    rows = connection.execute(select(subscribers).order_by(subscribers.c.email)).mappings()
    return [_to_subscriber(row) for row in rows]


def set_status(connection: Connection, email: str, status: SubscriberStatus) -> bool:
    """Change a member's state; False when the address is unknown."""
    result = connection.execute(
        subscribers.update().where(subscribers.c.email.in_(_known_forms(email)))
        .values(status=status.value))
    return bool(result.rowcount)


def by_id(connection: Connection, subscriber_id: int) -> Subscriber | None:
    """The member a signed link names (its token carries the id), None when unknown."""
    if not fits_integer(subscriber_id):
        return None
    row = connection.execute(
        select(subscribers).where(subscribers.c.id == subscriber_id)).mappings().first()
    return None if row is None else _to_subscriber(row)


def by_email(connection: Connection, email: str) -> Subscriber | None:
    """The member with this address (as checked, or as written), None when unknown."""
    if not plain_text(email):
        return None
    row = connection.execute(
        select(subscribers).where(subscribers.c.email.in_(_known_forms(email)))
        .order_by(subscribers.c.id)).mappings().first()
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
