"""A note's date outside the years the product keeps (1900-2199) is refused at its line,
before any time-zone conversion can overflow; the folder's other notes are still read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_digest
from tests.test_sources_collect import write_config
from tests.test_sources_parsers import poll


@pytest.mark.parametrize(("line", "key"), [
    ("date: 0001-01-01", "date"),
    ("published: 0001-01-01T00:00:00+14:00", "published"),
    ("published: 9999-12-31T23:59:59-12:00", "published"),
    ("published: '9999-12-31'", "published"),
    ("date: 1899-12-31", "date"),
    ("published: 2200-01-01T00:00:00Z", "published"),
    ("kind: event\nstart: 9999-12-31", "start"),
    ("kind: event\nstart: 2019-03-27\nend: 9999-12-31", "end"),
    ("kind: event\nstart: 0001-01-01T00:00:00", "start"),
])
def test_a_date_out_of_the_years_is_refused_at_its_line(tmp_path: Path, line: str,
                                                        key: str) -> None:
    text = f"---\ntitle: Old\n{line}\n---\nBody\n"
    (tmp_path / "a-old.md").write_text(text)
    (tmp_path / "good.md").write_text("---\ntitle: Good\ndate: 2019-03-01\n---\nBody\n")
    result = poll("folder", ".", tmp_path)
    assert result.error is None
    assert [item.title for item in result.items or ()] == ["Good"]
    (problem,) = result.problems
    number = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith(f"{key}:"))
    assert f"a-old.md:{number}: {key}: a date outside the years 1900-2199" in problem
    assert "Overflow" not in problem


@pytest.mark.parametrize("line", ["date: 1900-01-01", "published: 2199-12-31T23:59:59-12:00"])
def test_dates_at_the_edges_of_the_years_are_read(tmp_path: Path, line: str) -> None:
    (tmp_path / "edge.md").write_text(f"---\ntitle: Edge\n{line}\n---\nBody\n")
    result = poll("folder", ".", tmp_path)
    assert result.problems == () and [i.title for i in result.items or ()] == ["Edge"]


def test_collect_reports_the_note_and_keeps_the_others(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a-old.md").write_text("---\ntitle: Old\npublished: 9999-12-31T23:59:59-12:00\n"
                                    "---\nBody\n")
    (notes / "good.md").write_text("---\ntitle: A good note\npublished: 2019-03-15\n---\nB\n")
    write_config(tmp_path, "  - {id: notes, type: folder, path: notes}")
    result = run_digest(tmp_path, "collect")
    assert "source notes: 1 new" in result.stdout, result.stdout + result.stderr
    assert "a-old.md:3: published: a date outside the years 1900-2199" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_wrong_date_is_located_after_blank_lines_before_the_front_matter(
        tmp_path: Path) -> None:
    (tmp_path / "a-late.md").write_text("\n\n---\ntitle: Late\n'date': next Tuesday\n---\nBody\n")
    result = poll("folder", ".", tmp_path)
    (problem,) = result.problems
    assert "a-late.md:5: date: expected an ISO date such as 2019-03-27" in problem
