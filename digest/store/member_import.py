"""A members CSV planned before it is imported: what would be added, changed, refused.

The file is read by ``member_csv.read_members_csv`` and each row checked by
``subscribers.member_from_row``, as ``digest subscribers import`` does; nothing here parses
or checks a value a second way. The plan compares each row with the store: a new address
is *added* (in the state its ``status`` column says, active when empty), a known one whose
name, language, digests or themes differ is *changed*, an identical one is *unchanged*; a
row that cannot be read or checked, names an address an earlier row named or one erased at
its owner's request (``subscribers.refuse_erased``), is *refused* with its ``FILE:LINE``.
A known member's state is never changed by an import.

Applying computes the plan again in the writing transaction, so what is applied is what the
store holds then, and changes known members only when asked (``update``): their own
choices of themes and language are not overwritten by an old file by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection

from digest.errors import InputError
from digest.models import Subscriber
from digest.store import subscribers
from digest.store.member_csv import read_members_csv
from digest.store.subscribers import MemberRules, member_from_row


@dataclass(frozen=True)
class PlannedRow:
    """One row that adds or changes a member: its line, the member as the file says, and
    (for a change) the stored member and the names of the values that differ."""

    line: int
    member: Subscriber
    before: Subscriber | None = None
    changes: tuple[str, ...] = ()


@dataclass
class ImportPlan:
    """What importing a file does (or did): rows added, changed, unchanged, refused."""

    added: list[PlannedRow] = field(default_factory=list)
    changed: list[PlannedRow] = field(default_factory=list)
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)  # "FILE:LINE: what is wrong"


def _differences(stored: Subscriber, wanted: Subscriber) -> tuple[str, ...]:
    pairs = {"name": (stored.name, wanted.name),
             "language": (stored.language, wanted.language),
             "digests": (set(stored.digests), set(wanted.digests)),
             "themes": (set(stored.themes), set(wanted.themes))}
    return tuple(name for name, (before, after) in pairs.items() if before != after)


def plan_import(connection: Connection, path: Path, rules: MemberRules,
                shown: str | None = None) -> ImportPlan:
    """The plan of importing ``path`` into the store as it is now; nothing is written.
    ``InputError`` when the whole file is unusable (as ``digest subscribers import``)."""
    label = shown if shown is not None else str(path)
    read = read_members_csv(path, shown=label)
    refused = list(read.problems)
    checked: list[tuple[int, Subscriber]] = []
    first_line: dict[str, int] = {}
    refuse_erased = subscribers.erased_check(connection)
    for row in read.rows:
        try:
            member = member_from_row(row.values, rules)
            refuse_erased(member.email)
        except InputError as exc:
            refused.append((row.line, f"{label}:{row.line}: {exc}"))
            continue
        if member.email in first_line:
            refused.append((row.line, f"{label}:{row.line}: {member.email} is on line "
                            f"{first_line[member.email]} already"))
            continue
        first_line[member.email] = row.line
        checked.append((row.line, member))
    known = subscribers.by_emails(connection, first_line)
    plan = ImportPlan(refused=[text for _, text in sorted(refused, key=lambda p: p[0])])
    for line, member in checked:
        stored = known.get(member.email)
        if stored is None:
            plan.added.append(PlannedRow(line, member))
        elif changes := _differences(stored, member):
            plan.changed.append(PlannedRow(line, member, stored, changes))
        else:
            plan.unchanged += 1
    return plan


def apply_import(connection: Connection, path: Path, rules: MemberRules, now: datetime, *,
                 update: bool, shown: str | None = None) -> ImportPlan:
    """Import ``path`` as ``plan_import`` plans it now: add the new members and, with
    ``update``, change the known ones; returns what was done (a change not made because
    ``update`` is off is not in ``changed``; an address another process added meanwhile
    counts as unchanged)."""
    plan = plan_import(connection, path, rules, shown)
    done = ImportPlan(unchanged=plan.unchanged, refused=plan.refused)
    for row in plan.added:
        if subscribers.add(connection, row.member, now):
            done.added.append(row)
        else:
            done.unchanged += 1
    for row in plan.changed if update else ():
        if subscribers.update_values(connection, row.member):
            done.changed.append(row)
    return done
