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
