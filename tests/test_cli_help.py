"""Every subcommand explains itself: its ``--help`` has a paragraph and an example."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest

from digest.cli import build_parser


def _subcommands(parser: argparse.ArgumentParser,
                 path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                               argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*path, name), child
                yield from _subcommands(child, (*path, name))


COMMANDS = list(_subcommands(build_parser()))


def test_every_command_of_the_contract_is_there() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"run", "collect", "build", "preview", "send", "approve", "status", "serve",
            "subscribers import", "subscribers add", "subscribers remove", "subscribers list",
            "sources import-opml", "sources enable"} <= names


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_each_help_describes_the_command_with_an_example(path: tuple[str, ...],
                                                         parser: argparse.ArgumentParser,
                                                         ) -> None:
    text = parser.format_help()
    assert parser.description and len(parser.description.split()) >= 8, text
    assert "example:\n  digest " in text, text
    example = text.split("example:\n", 1)[1]
    assert " ".join(path) in example, f"the example does not use `digest {' '.join(path)}`"


def test_the_help_names_what_users_asked_for() -> None:
    helps = {" ".join(path): parser.format_help() for path, parser in COMMANDS}
    assert "required" in helps["run"] and "digest serve" in helps["run"]
    assert "bulletin:" in helps["send"]
    assert "email,name,language,digests,themes" in helps["subscribers import"]


def test_help_runs_without_a_config() -> None:
    result = subprocess.run([sys.executable, "-m", "digest", "send", "--help"],
                            capture_output=True, text=True, check=False, cwd="/")
    assert result.returncode == 0 and "example:" in result.stdout
