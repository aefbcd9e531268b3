"""Members from CSV and `subscribers add`, through the real command: every bad row is
refused with FILE:LINE and the rest imported (exit 2: refused input), no traceback, and
nothing that could never be delivered is stored (issue 9, section 5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.errors import InputError
from digest.store import Database
from digest.store.member_csv import MAX_FIELD_CHARS, MAX_IMPORT_BYTES
from digest.store.schema import subscribers
from digest.store.subscribers import MemberRules, member_from_values
from tests.conftest import approve_sample_bulletin, run_digest

HEADER = b"email,name,language,digests,themes\n"
GOOD = b"good@example.org,Good,en,weekly,\n"


def _import(project: Path, rows: bytes) -> tuple[list[str], str]:
    """Import ``HEADER + rows + GOOD``; return the problem lines and the member list."""
    (project / "members.csv").write_bytes(HEADER + rows + GOOD)
    result = run_digest(project, "subscribers", "import", "members.csv")
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem: ")]
    listing = run_digest(project, "subscribers", "list").stdout
    assert "good@example.org\tactive" in listing, "the good row after a bad one is imported"
    return problems, listing


@pytest.mark.parametrize(("row", "message"), [
    ("françois@example.org,François,fr,weekly,\n".encode("latin-1"),
     "not UTF-8 (byte 0xe7): the file looks like Latin-1 or Windows-1252; save the file as"),
    ("anna@example.org,Zoë Müller,de,weekly,\n".encode("cp1252"), "name: not UTF-8 (byte 0xeb)"),
    (b"anna@example.org,A\x00\xff\xfe,en,weekly,\n", "name: control characters"),
    (b"anna@example.org,\x01\x02\x03,en,weekly,\n", "name: control characters"),
    (b"anna@example.org," + b"x" * 200_000 + b",en,weekly,\n",
     f"a value longer than {MAX_FIELD_CHARS} characters"),
    (b"anna@example.org," + b"x" * (MAX_FIELD_CHARS + 1) + b",en,weekly,\n",
     f"name: longer than {MAX_FIELD_CHARS} characters"),
    (b"anna@example.org,A,<script>,weekly,\n", "language: expected a BCP 47 language tag"),
    (b"anna@example.org,A," + b"a" * 28 + b",weekly,\n", "language: expected a BCP 47"),
    (b"anna@example.org,A,en_GB,weekly,\n", "language: expected a BCP 47 language tag"),
    ("josé@example.org,José,es,weekly,\n".encode(),
     "invalid email address 'josé@example.org': non-ASCII characters before the @ need "
     "SMTPUTF8"),
    ("用户@例子.广告,U,zh,weekly,\n".encode(), "non-ASCII characters before the @"),
    (b"anna@example.org,A,en,weekly,,,surplus\n", "7 values for 5 columns"),
], ids=["latin-1", "cp1252", "binary", "controls", "200KB-field", "long-name", "script-tag",
        "28-letters", "underscore", "non-ascii-local", "non-ascii-all", "extra-values"])
def test_a_bad_row_is_refused_with_its_line(project: Path, row: bytes, message: str) -> None:
    problems, listing = _import(project, row)
    assert len(problems) == 1, problems
    assert problems[0].startswith("problem: members.csv:2: "), problems
    assert message in problems[0], problems
    assert "anna@" not in listing and "josé" not in listing and "françois" not in listing


def test_a_non_ascii_domain_is_stored_in_ascii(project: Path) -> None:
    (project / "members.csv").write_bytes(HEADER + "anna@exämple.org,A,en,weekly,\n".encode())
    result = run_digest(project, "subscribers", "import", "members.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "anna@xn--exmple-cua.org\tactive" in run_digest(project, "subscribers", "list").stdout


def test_a_csv_over_the_size_limit_is_refused_before_reading(project: Path) -> None:
    with (project / "members.csv").open("wb") as handle:
        handle.write(HEADER)
        handle.truncate(MAX_IMPORT_BYTES + 1)  # sparse: nothing is written
    result = run_digest(project, "subscribers", "import", "members.csv")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "digest: members.csv: (file): the file is 1024 MB, over the limit of 1024 MB for a "
        "members CSV"]


@pytest.mark.parametrize(("args", "message"), [
    (("anna@example.org", "--language", "<script>"), "language: expected a BCP 47"),
    (("anna@example.org", "--language", "a" * 28), "language: expected a BCP 47"),
    (("josé@example.org",), "non-ASCII characters before the @"),
    (("anna@example.org", "--name", "x" * 2000), "name: expected one line"),
    (("anna@example.org", "--name", "A\nBcc: x@example.org"), "name: expected one line"),
], ids=["script", "long-language", "non-ascii", "long-name", "newline-name"])
def test_subscribers_add_refuses_what_import_refuses(project: Path, args: tuple[str, ...],
                                                     message: str) -> None:
    result = run_digest(project, "subscribers", "add", *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert message in line, line
    assert "anna@" not in run_digest(project, "subscribers", "list").stdout


def test_a_run_imports_the_good_rows_and_goes_on(project: Path) -> None:
    members = (project / "sample" / "subscribers.csv").read_bytes()
    (project / "sample" / "subscribers.csv").write_bytes(
        members + "josé@example.org,José,es,weekly,\n".encode()
        + b"bad@example.org,B,<script>,weekly,\n" + "zoë@example.org,Z,en,weekly,\n"
        .encode("latin-1"))
    run = run_digest(project, "run", "--once")
    assert "Traceback" not in run.stderr
    assert run.returncode == 1, run.stdout + run.stderr
    problems = [line for line in run.stdout.splitlines() if line.startswith("problem:")]
    csv = project / "sample" / "subscribers.csv"
    assert [p.split(": ")[1] for p in problems] == [f"{csv}:8", f"{csv}:9", f"{csv}:10"]
    assert "edition weekly/1: " in run.stdout
    assert "weekly/1 [sent] Social Affairs weekly: 5 sent" in run_digest(project, "status").stdout


def test_a_stored_address_that_cannot_be_sent_bounces_once(project: Path) -> None:
    """A member stored before addresses were checked (an older version) fails once and is
    marked bounced, instead of failing again at every edition."""
    assert run_digest(project, "subscribers", "import", "sample/subscribers.csv").returncode == 0
    database = Database(f"sqlite:///{project / 'var' / 'digest.db'}")
    with database.transaction() as connection:
        connection.execute(subscribers.insert().values(
            email="josé@example.org", name="José", language="es", digests=["weekly"],
            themes=[], status="active", created_at=datetime(2019, 3, 1, tzinfo=UTC)))
    approve_sample_bulletin(project)
    first = run_digest(project, "run", "--once")
    assert "Traceback" not in first.stderr
    # The first message to it (the bulletin, sent before the digest) fails; then it is
    # bounced and no other message is planned for it.
    assert run_digest(project, "status").stdout.count("failed: josé@example.org") == 1
    with database.transaction() as connection:
        state = connection.execute(select(subscribers.c.status).where(
            subscribers.c.email == "josé@example.org")).scalar()
    database.close()
    assert state == "bounced"
    later = run_digest(project, "run", "--once", now="2019-03-25T08:00:00+01:00")
    assert "Traceback" not in later.stderr
    status = run_digest(project, "status", now="2019-03-25T08:00:00+01:00").stdout
    assert status.count("failed: josé@example.org") == 1, status
    # And `subscribers remove` still finds such a member by the address as written.
    assert run_digest(project, "subscribers", "remove", "josé@example.org").returncode == 0


def test_rows_past_the_row_limit_are_reported_not_read(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from digest.store import member_csv

    monkeypatch.setattr(member_csv, "MAX_ROWS", 3)
    path = tmp_path / "members.csv"
    path.write_bytes(HEADER + b"".join(b"m%d@example.org,M,en,weekly,\n" % n for n in range(6)))
    read = member_csv.read_members_csv(path)
    assert [row.values["email"] for row in read.rows] == [
        "m0@example.org", "m1@example.org", "m2@example.org"]
    assert read.problems == [(5, f"{path}:5: more than 3 members in one file: this row and "
                                 "the ones after it are not imported")]



_RULES = MemberRules.of("en", ["weekly", "monthly"], ["culture", "knowledge-society"])


def test_typed_values_become_a_checked_member() -> None:
    member = member_from_values(" Anna@Example.org ", "Anna", " FR ", "",
                                "culture; knowledge-society", _RULES)
    assert (member.email, member.language, member.digests, member.themes) == (
        "anna@example.org", "fr", ("monthly", "weekly"), ("culture", "knowledge-society"))
    assert member_from_values("b@example.org", "", "", "weekly", "", _RULES).language == "en"


@pytest.mark.parametrize(("language", "digests", "themes", "message"), [
    ("english", "", "", "language: expected a BCP 47"),
    ("en", "daily", "", "unknown digest(s): daily"),
    ("en", "", "astrology;culture", "unknown theme(s): astrology"),
], ids=["language", "digest", "theme"])
def test_typed_values_that_are_wrong_are_refused(language: str, digests: str, themes: str,
                                                 message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        member_from_values("anna@example.org", "", language, digests, themes, _RULES)


def test_subscribers_add_refuses_a_language_that_is_no_tag(project: Path) -> None:
    result = run_digest(project, "subscribers", "add", "anna@example.org", "--language",
                        "French")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "digest: language: expected a BCP 47 language tag such as en, fr, pt-BR or sr-Latn "
        "(at most 16 characters), got 'French'")
    assert "anna@" not in run_digest(project, "subscribers", "list").stdout
