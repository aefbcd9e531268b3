"""A broken bulletin file, through the real command: `preview` refuses it with its line
(exit 2), `run --once` reports it and skips it while the other bulletin, the feeds and the
digest still go out (issue 9, section 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.bulletins import MAX_BULLETIN_BYTES
from tests.conftest import approve_sample_bulletin, run_digest

SAMPLE = "sample/bulletins/2019-03-wg-smart-social-inclusion.md"
BROKEN = "sample/bulletins/broken.md"


def _broken(project: Path, old: str, new: str) -> Path:
    """A second bulletin made from the sample, with ``old`` replaced by ``new``."""
    text = (project / SAMPLE).read_text().replace("title: Updates", "slug: other\ntitle: Updates")
    assert old in text, old
    path = project / BROKEN
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_bytes().split(b"\n")
    return next(n for n, line in enumerate(lines, 1) if needle.encode() in line)


def _assert_refused_and_skipped(project: Path, expected: str) -> None:
    preview = run_digest(project, "preview", BROKEN)
    assert preview.returncode == 2, preview.stdout + preview.stderr
    assert "Traceback" not in preview.stderr
    [refusal] = preview.stderr.strip().splitlines()
    assert refusal.startswith(f"digest: {BROKEN}{expected}"), refusal

    approve_sample_bulletin(project)
    run = run_digest(project, "run", "--once")
    assert "Traceback" not in run.stderr
    assert run.returncode == 1, run.stdout + run.stderr  # done, with one problem reported
    problems = [line for line in run.stdout.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1, run.stdout
    assert problems[0].startswith(f"problem: {project / BROKEN}{expected}"), problems
    # Everything else ran: the good bulletin and the digest were sent, the feeds written.
    assert "edition weekly/1: " in run.stdout
    assert "edition bulletin:2019-03-wg-smart-social-inclusion/1: " in run.stdout
    assert (project / "out" / "bulletins" / "2019-03-wg-smart-social-inclusion").is_dir()
    assert not (project / "out" / "bulletins" / "other").exists()
    assert list((project / "feeds").glob("*.atom"))
    assert int(run.stdout.split("messages sent: ")[1].split()[0]) > 0


@pytest.mark.parametrize(("old", "new", "message"), [
    ("date: 2019-03-25", "date: 2019-02-30",
     "date: expected a date such as 2019-03-25, got '2019-02-30' (day is out of range for month)"),
    ("date: 2019-03-25", "date: 2019-13-01", "date: expected a date such as 2019-03-25"),
    ("end_date: 2019-03-27", "end_date: 2019-02-29", "end_date: expected a date"),
    ("date: 2019-03-25", "date: 2019-03-25 25:00:00", "date: expected a date"),
], ids=["february-30", "month-13", "end-date-not-leap", "hour-25"])
def test_an_impossible_date_is_located(project: Path, old: str, new: str,
                                       message: str) -> None:
    path = _broken(project, old, new)
    _assert_refused_and_skipped(project, f":{_line_of(path, new)}: {message}")


@pytest.mark.parametrize("second", ["place: Paris", "date: 2019-03-26", "title: Other"])
def test_a_duplicate_key_is_located(project: Path, second: str) -> None:
    key = second.split(":")[0]
    text = (project / SAMPLE).read_text()
    first = next(line for line in text.splitlines() if line.startswith(f"{key}: "))
    path = _broken(project, first, f"{first}\n{second}")
    line = _line_of(path, second)
    _assert_refused_and_skipped(
        project, f":{line}: {key}: duplicate key (first given on line {line - 1})")


def test_a_file_over_the_size_limit_is_refused_before_reading(project: Path) -> None:
    path = _broken(project, "## 1.", "## 1.")
    body = path.read_text()
    path.write_text(body + body.split("---", 2)[2] * (2 * MAX_BULLETIN_BYTES // len(body) + 1))
    _assert_refused_and_skipped(project, ": (file): the file is ")
    assert "over the limit of 128 KB for a bulletin" in run_digest(
        project, "preview", BROKEN).stderr


def test_a_file_just_under_the_limit_is_read(project: Path) -> None:
    path = _broken(project, "## 1.", "## 1.")
    body = path.read_text()
    text = body + body.split("---", 2)[2] * (MAX_BULLETIN_BYTES // len(body))
    path.write_text(text[:MAX_BULLETIN_BYTES - 10])
    preview = run_digest(project, "preview", BROKEN)
    assert "Traceback" not in preview.stderr
    assert "other: email" in preview.stdout, preview.stderr


@pytest.mark.parametrize(("old", "new", "message"), [
    ("place: Glasgow", "place: &a [*a]", "(front matter): not valid YAML: an alias refers"),
    ("place: Glasgow", "x: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" + "".join(
        f"x{n}: &a{n} [" + ", ".join([f"*a{n - 1}" if n > 1 else "*a"] * 10) + "]\n"
        for n in range(1, 7)) + "place: Glasgow",
     "(front matter): not valid YAML: more than 100000 values"),
    ("place: Glasgow", "place: " + "[" * 5000 + "]" * 5000,
     "(front matter): not valid YAML: nested deeper than"),
], ids=["recursive-alias", "alias-bomb", "deep-nesting"])
def test_hostile_front_matter_is_refused(project: Path, old: str, new: str,
                                         message: str) -> None:
    _broken(project, old, new)
    preview = run_digest(project, "preview", BROKEN)
    assert preview.returncode == 2
    assert "Traceback" not in preview.stderr
    [line] = preview.stderr.strip().splitlines()
    assert line.startswith(f"digest: {BROKEN}:") and message in line, line


def test_a_file_that_is_not_utf8_is_located(project: Path) -> None:
    path = _broken(project, "place: Glasgow", "place: Genève")
    line = _line_of(path, "place: Gen")
    path.write_bytes(path.read_text().encode("latin-1"))
    _assert_refused_and_skipped(project, f":{line}: (file): not UTF-8 (byte 0xe8)")
