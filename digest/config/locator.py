"""From a dotted key to the line a person typed it on, and from pydantic's errors to words.

Every problem of ``schedules.yaml`` and of a bulletin's front matter is shown as
``FILE:LINE: key: what is wrong``. The line comes from the YAML node tree (``Locator``): the
line of the key itself, else of the nearest key around it, so a missing key is shown at the
mapping that lacks it. Keys a ``<<`` merge brought in are shown at that ``<<``. Both files
read alike because both go through this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from digest import yaml_loader
from digest.config.units import shown
from digest.errors import ConfigProblem

KeyPath = tuple[str | int, ...]
# pydantic names a union's branches in an error's path; they mean nothing to the user.
_UNION_BRANCHES = frozenset({"list[str]", "literal['all']"})


@dataclass
class Locator:
    """The file line of every key and list item of one YAML document, and the keys given
    twice (YAML would silently keep the last)."""

    file: str
    lines: dict[KeyPath, int] = field(default_factory=dict)
    merges: dict[KeyPath, int] = field(default_factory=dict)  # mapping → line of its ``<<``
    duplicates: list[tuple[KeyPath, int]] = field(default_factory=list)  # key, first line

    @classmethod
    def of(cls, file: str, node: yaml.Node | None, top_line: int | None = None) -> Locator:
        """Locate every key of ``node``; ``top_line``, when given, is where a problem of the
        document as a whole (a missing top-level key) is shown."""
        locator = cls(file)
        if node is not None:
            locator._walk(node, ())
        if top_line is not None:
            locator.lines[()] = top_line
        return locator

    def _walk(self, node: yaml.Node, path: KeyPath) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if key_node.tag == yaml_loader.MERGE_TAG:
                    self.merges.setdefault(path, line)  # the merged keys are located there
                    continue
                key = str(key_node.value)
                child = (*path, key)
                if key in seen:
                    self.duplicates.append((child, self.lines[child]))
                    self.lines[child] = line
                    continue
                seen.add(key)
                self._walk(value_node, child)
                self.lines[child] = line
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, else of the nearest key around it that was written."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
            if end and path[:end - 1] in self.merges:
                return self.merges[path[:end - 1]]
        return None

    def problem(self, path: KeyPath, message: str) -> ConfigProblem:
        """One problem, located."""
        return ConfigProblem(self.file, self.line_of(path), dotted(path), message)

    def problems(self, found: Iterable[tuple[KeyPath, str]]) -> list[ConfigProblem]:
        """Each (key, message) pair, located."""
        return [self.problem(path, message) for path, message in found]


def dotted(path: KeyPath) -> str:
    """``("digests", 0, "cron")`` as a person writes it: ``digests[0].cron``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def message(error: Mapping[str, Any]) -> str:
    """pydantic's error in the product's words, quoting the wrong value when it helps."""
    kind = str(error["type"])
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    text = str(error["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind.startswith(("literal", "enum", "int_", "bool_")):
        text += f" (got {shown(error.get('input'))})"
    return text


def validation_problems(error: ValidationError, wording: Mapping[str, str] | None = None,
                        ) -> Iterator[tuple[KeyPath, str]]:
    """(key, message) of every error pydantic found; ``wording`` replaces the message of an
    error type (a file may explain its unknown keys better than "unknown key")."""
    for item in error.errors():
        path: KeyPath = tuple(p for p in item["loc"] if p not in _UNION_BRANCHES)
        yield path, (wording or {}).get(item["type"]) or message(item)
