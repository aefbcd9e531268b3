"""A folder note's front matter goes through the same bounded YAML loader as the config
and bulletins: a hostile note is reported and skipped, the other notes are collected."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_digest


def _bomb() -> str:
    lines = ["a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\ntags: *i\n"


@pytest.mark.parametrize(("front", "message"), [
    (_bomb(), "more than 100000 values"),
    ("tags: &r [*r]\n", "an alias refers to the node that contains it"),
    ("tags: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than"),
], ids=["alias-bomb", "recursive-alias", "deep-nesting"])
def test_a_hostile_note_is_skipped_and_the_others_collected(project: Path, front: str,
                                                           message: str) -> None:
    (project / "sample" / "items" / "hostile.md").write_text(
        f"---\ntitle: Hostile\n{front}---\nbody\n")
    result = run_digest(project, "collect")
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    assert "source notes: 1 new" in result.stdout
    [problem] = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    assert "hostile.md: unreadable front matter: " in problem and message in problem, problem


@pytest.mark.parametrize(("front", "message"), [
    ("title: First\ntitle: Second\n", "dup.md:3: title: duplicate key (first given on line 2)"),
    ("title: T\nthemes:\n  a: 1\n  a: 2\n",
     "dup.md:5: themes.a: duplicate key (first given on line 4)"),
], ids=["top-level", "nested"])
def test_a_key_given_twice_is_reported_at_its_line(project: Path, front: str,
                                                   message: str) -> None:
    """YAML keeps the last value silently; the config and bulletins refuse this, so notes
    do too, rather than publish whichever title came last."""
    (project / "sample" / "items" / "dup.md").write_text(f"---\n{front}---\nbody\n")
    result = run_digest(project, "collect")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "source notes: 1 new" in result.stdout
    [problem] = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    assert message in problem, problem


def test_a_link_out_of_the_folder_is_not_read(project: Path, tmp_path: Path) -> None:
    """A symbolic link in the notes folder must not publish a file from elsewhere on the
    machine; a link to a note inside the folder is read."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "note.md").write_text("---\ntitle: Private note\n---\nsecret\n")
    items = project / "sample" / "items"
    (items / "escape.md").symlink_to(outside / "note.md")
    (items / "inside.md").symlink_to(items / "social-innovation-lab.md")
    result = run_digest(project, "collect")
    assert result.returncode == 1, result.stdout + result.stderr
    # The note and the link to it inside the folder (two files: two items).
    assert "source notes: 2 new" in result.stdout, result.stdout
    [problem] = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    assert "escape.md: a link to a file outside the folder" in problem, problem
    assert "Private note" not in result.stdout
