"""A members CSV imported as a stream, in batches, does what importing it row by row did:
the same members stored (in the state the first row of an address says), the same counts,
and every refused row reported with its line, in file order, across batch boundaries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.errors import InputError
from digest.store import member_csv, subscribers
from digest.store.database import Database
from digest.store.schema import subscribers as subscribers_table
from digest.store.subscribers import ImportResult, MemberRules, member_from_row

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
DIGESTS, THEMES = ["weekly", "monthly"], ["culture", "work"]


def _file(path: Path) -> tuple[Path, list[int]]:
    """Good rows, refused rows of every kind and repeated addresses, mixed; and the lines
    of the refused rows."""
    lines = [b"email,name,language,digests,themes,status"]
    for n in range(60):
        kind = n % 10
        if kind == 3:
            lines.append(b"not-an-address,X,en,weekly,,")
        elif kind == 5:
            lines.append(b"m%d@example.org,Bad,<script>,weekly,," % n)
        elif kind == 6:
            lines.append("zoë%d@example.org,Z,en,weekly,,".encode("latin-1") % n)
        elif kind == 7:
            lines.append(b"m%d@example.org,M,en,weekly,," % (n - 7))  # an address again
        elif kind == 8:
            lines.append(b"m%d@example.org,M,fr,unknown,," % n)
        elif kind == 9:
            lines.append(b"")  # a blank line is skipped, not refused
        else:
            status = [b"", b"unsubscribed", b"bounced"][n % 3]
            lines.append(b"M%d@Example.org,M %d,de,weekly;monthly,work,%s" % (n, n, status))
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return path, [n + 2 for n in range(60) if n % 10 in (3, 5, 6, 8)]


def _one_by_one(db: Database, path: Path) -> ImportResult:
    """The import as it was: every row read into memory, then added one at a time."""
    rules = MemberRules.of("en", DIGESTS, THEMES)
    read = member_csv.read_members_csv(path)
    result, refused = ImportResult(), list(read.problems)
    with db.transaction() as c:
        for row in read.rows:
            try:
                member = member_from_row(row.values, rules)
            except InputError as exc:
                refused.append((row.line, f"{path}:{row.line}: {exc}"))
                continue
            if subscribers.add(c, member, NOW):
                result.added += 1
            else:
                result.known += 1
    result.problems = [text for _, text in sorted(refused, key=lambda pair: pair[0])]
    return result


def _stored(db: Database) -> list[tuple[object, ...]]:
    with db.transaction() as c:
        return [tuple(row) for row in c.execute(
            select(subscribers_table.c.email, subscribers_table.c.name,
                   subscribers_table.c.language, subscribers_table.c.digests,
                   subscribers_table.c.themes, subscribers_table.c.status)
            .order_by(subscribers_table.c.email))]


def test_a_streamed_import_does_what_one_by_one_did(tmp_path: Path, db: Database,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subscribers, "_BATCH", 4)  # many batches, addresses repeated across
    path, refused = _file(tmp_path / "members.csv")
    before = Database(f"sqlite:///{tmp_path / 'before.db'}")
    expected = _one_by_one(before, path)
    with db.transaction() as c:
        streamed = subscribers.import_csv(c, path, NOW, "en", DIGESTS, THEMES)
    assert streamed == expected
    assert expected.added and expected.known
    assert [int(p.removeprefix(f"{path}:").split(":")[0]) for p in streamed.problems] == refused
    assert _stored(db) == _stored(before)
    before.close()
    with db.transaction() as c:  # again: nothing added, every good row known
        again = subscribers.import_csv(c, path, NOW, "en", DIGESTS, THEMES)
    assert (again.added, again.known, again.problems) == (
        0, expected.added + expected.known, expected.problems)


def test_a_file_growing_past_its_limit_while_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_bytes(b"email\n" + b"m@example.org\n" * 10)
    with pytest.raises(InputError, match="over the limit of 2 KB for a members CSV"), \
            member_csv.MembersCsv(path, max_bytes=2048) as read:
        with path.open("ab") as handle:  # grows after its size was checked
            handle.write(b"m@example.org\n" * 1000)
        list(read.rows())
