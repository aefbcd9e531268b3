"""Who an edition goes to, planned inside the database: never a list of every member.

A member's variant depends only on their language and theme choice, so the active members
of a digest are read as *groups* of equal (language, themes) with one ``GROUP BY``: a few
rows whatever the number of members. The caller (``jobs``, which knows how a group maps to
a variant) gives each group its variant key, and ``plan`` creates the outbox rows with one
``INSERT ... SELECT`` joined to those keys, so planning a million members holds a few
hundred groups in memory, not a million models.

Groups are compared by the stored text of ``themes`` (the JSON as written), so two members
whose themes were written in another order are two groups with the same key: harmless.
``Audience.up_to_id`` is the newest member when the groups were read: a member who joins
while the edition renders is not planned for it, as when the members were read as a list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    Text,
    and_,
    cast,
    func,
    literal,
    select,
    true,
    union_all,
)

from digest.models import DeliveryStatus, Subscriber, SubscriberStatus
from digest.store import json_lists
from digest.store.schema import deliveries, subscribers
from digest.store.upsert import dialect_insert

# SQLite allows at most 500 terms in a compound SELECT: the keys go in chunks below that.
_KEYS_PER_STATEMENT = 200


@dataclass(frozen=True)
class MemberGroup:
    """Active members with one language and one stored theme list, and how many."""

    language: str
    themes_json: str  # the stored text: what the plan joins on
    members: int

    @property
    def themes(self) -> tuple[str, ...]:
        """The themes the group chose (empty: every theme)."""
        return tuple(str(theme) for theme in json.loads(self.themes_json))

    @property
    def member(self) -> Subscriber:
        """A stand-in member of the group: what decides a variant (language, themes)."""
        return Subscriber(email="", name="", language=self.language, digests=(),
                          themes=self.themes)


@dataclass(frozen=True)
class Audience:
    """The active members of a digest (or of every digest) as groups, read at one moment."""

    digest_id: str | None
    groups: tuple[MemberGroup, ...]
    up_to_id: int

    @property
    def members(self) -> int:
        """How many members the groups hold."""
        return sum(group.members for group in self.groups)


def _themes_text() -> ColumnElement[str]:
    return cast(subscribers.c.themes, Text)


def _follows(connection: Connection, digest_id: str | None) -> ColumnElement[bool]:
    """Active members (following ``digest_id``, unless None) in SQL."""
    active = subscribers.c.status == SubscriberStatus.ACTIVE.value
    if digest_id is None:
        return active
    return and_(active, json_lists.holds(connection, subscribers.c.digests, digest_id))


def audience(connection: Connection, digest_id: str | None) -> Audience:
    """The active members following ``digest_id`` (all active members when None), grouped
    by what decides their variant."""
    where = _follows(connection, digest_id)
    themes = _themes_text()
    rows = connection.execute(
        select(subscribers.c.language, themes.label("themes"), func.count())
        .where(where).group_by(subscribers.c.language, themes)
        .order_by(subscribers.c.language, themes)).all()
    newest = connection.execute(select(func.max(subscribers.c.id))).scalar() or 0
    return Audience(digest_id, tuple(MemberGroup(language, text, int(number))
                                     for language, text, number in rows), int(newest))


def plan(connection: Connection, edition_id: int, members: Audience,
         keys: Mapping[MemberGroup, str], now: datetime) -> int:
    """Create the pending rows of an edition for the members of the groups in ``keys``
    (each with its group's variant key), still active and following the digest, that have
    none yet; rows are made in member order. Returns how many were created."""
    insert = dialect_insert(connection)
    chosen = [(group, key) for group, key in keys.items() if group in members.groups]
    before = _planned(connection, edition_id)
    for start in range(0, len(chosen), _KEYS_PER_STATEMENT):
        part = chosen[start:start + _KEYS_PER_STATEMENT]
        table = union_all(*(
            select(literal(group.language, String).label("language"),
                   literal(group.themes_json, String).label("themes"),
                   literal(key, String).label("variant_key"))
            for group, key in part)).cte("planned_keys")
        source = (
            select(literal(edition_id).label("edition_id"), subscribers.c.id,
                   table.c.variant_key, literal(DeliveryStatus.PENDING.value, String),
                   literal(0), literal(now, deliveries.c.updated_at.type))
            .select_from(subscribers.join(table, and_(
                subscribers.c.language == table.c.language,
                _themes_text() == table.c.themes)))
            .where(_follows(connection, members.digest_id),
                   subscribers.c.id <= members.up_to_id, true())
            .order_by(subscribers.c.id))
        connection.execute(
            insert(deliveries).from_select(
                ["edition_id", "subscriber_id", "variant_key", "status", "attempts",
                 "updated_at"], source)
            .on_conflict_do_nothing(index_elements=["edition_id", "subscriber_id"]))
    # Counted, not taken from the rowcount: neither driver gives one for WITH ... INSERT.
    created = _planned(connection, edition_id) - before
    if created >= ANALYZE_AFTER:
        analyze(connection, deliveries.name)
    return created


ANALYZE_AFTER = 10_000


def analyze(connection: Connection, table: str) -> None:
    """Refresh PostgreSQL's statistics of a table just grown by many rows: until autovacuum
    gets to it, the planner believes it small and reads an outbox of a million rows, or
    the members, sorted whole for every batch a sender claims (a second each instead of
    milliseconds). SQLite plans these queries well without statistics."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ANALYZE {table}")


def _planned(connection: Connection, edition_id: int) -> int:
    return int(connection.execute(select(func.count()).select_from(deliveries).where(
        deliveries.c.edition_id == edition_id)).scalar() or 0)
