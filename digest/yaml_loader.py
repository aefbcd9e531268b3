"""YAML from people, read within bounds: ``schedules.yaml`` and bulletin front matter.

PyYAML's ``SafeLoader`` builds no objects but still trusts the shape of its input: an
alias bomb (nine levels of nine aliases in 2 KB) expands to hundreds of millions of values
in whoever walks the result, a recursive alias (``&a [*a]``) never ends, and thousands of
nested brackets exhaust Python's recursion. ``load`` refuses all three with a located
``yaml.YAMLError`` before anything walks the document:

- nesting deeper than ``MAX_DEPTH`` levels, aliases expanded included;
- an alias inside the node it refers to (a recursive alias);
- a document of more than ``MAX_VALUES`` values once its aliases are expanded (aliases
  stay allowed: ``&defaults``/``<<: *defaults`` is a fair way to share settings).

The node tree returned holds each mapping's keys as written: keys a ``<<`` merge brings in
are in the value, not in the tree, so line locators and duplicate-key checks see only what
the person typed (an explicit key overriding a merged one is standard YAML, not a duplicate).

Values YAML cannot build are refused with their line too, except a timestamp that is not a
real date (``2019-02-30``), which is kept as text so the caller's own check can name the key.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError

MAX_DEPTH = 32
MAX_VALUES = 100_000
MERGE_TAG = "tag:yaml.org,2002:merge"  # the tag of a ``<<`` key


class YamlLimitError(yaml.MarkedYAMLError):
    """The document is over one of the bounds above (``problem`` says which)."""


class BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that stops composing past ``MAX_DEPTH`` levels and builds every value
    it can, reporting the others at their line instead of raising ``ValueError``."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self.unmerged: dict[int, tuple[yaml.MappingNode, list[tuple[yaml.Node, yaml.Node]]]] = {}

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Merge ``<<`` keys as YAML says (explicit keys win), remembering the pairs as
        written so ``restore_written`` can give callers back the mapping the person wrote:
        a key that came from a merge is no duplicate of the key that overrides it."""
        self.unmerged.setdefault(id(node), (node, list(node.value)))
        super().flatten_mapping(node)

    def restore_written(self) -> None:
        """Put back every mapping node's pairs as written (``flatten_mapping`` edits them)."""
        for node, pairs in self.unmerged.values():
            node.value = pairs

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise YamlLimitError(problem=f"nested deeper than {MAX_DEPTH} levels",
                                     problem_mark=event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:
            value = repr(node.value)
            value = value if len(value) <= 60 else f"{value[:60]}..."
            raise ConstructorError(problem=f"cannot read {value} as {node.tag}: {exc}",
                                   problem_mark=node.start_mark) from None

    def construct_lenient_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date or datetime; a timestamp that is no real date stays text."""
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp",
                              BoundedLoader.construct_lenient_timestamp)


def load(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the value of a one-document YAML text.

    Raises ``yaml.YAMLError`` (with ``problem`` and ``problem_mark``) for invalid YAML and
    for a document over the bounds."""
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _Measure().visit(node, 1)
        try:
            return node, loader.construct_document(node)
        finally:
            loader.restore_written()
    finally:
        loader.dispose()


class _Measure:
    """Depth and size of a node graph as if its aliases were copied, each node measured
    once (so measuring a bomb is as cheap as reading it)."""

    def __init__(self) -> None:
        self.measured: dict[int, tuple[int, int]] = {}  # id → (values, height)
        self.open: set[int] = set()

    def visit(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in self.open:
            raise YamlLimitError(problem="an alias refers to the node that contains it "
                                 "(a recursive alias)", problem_mark=node.start_mark)
        if key in self.measured:
            values, height = self.measured[key]
        else:
            if depth > MAX_DEPTH:
                self._too_deep(node)
            self.open.add(key)
            values, height = 1, 0
            for child in _children(node):
                child_values, child_height = self.visit(child, depth + 1)
                values += child_values
                height = max(height, child_height + 1)
                if values > MAX_VALUES:
                    raise YamlLimitError(
                        problem=f"more than {MAX_VALUES} values once its aliases are expanded "
                        "(an alias bomb?)", problem_mark=child.start_mark)
            self.open.discard(key)
            self.measured[key] = (values, height)
        if depth + height > MAX_DEPTH:
            self._too_deep(node)
        return values, height

    @staticmethod
    def _too_deep(node: yaml.Node) -> None:
        raise YamlLimitError(problem=f"nested deeper than {MAX_DEPTH} levels once its aliases "
                             "are expanded", problem_mark=node.start_mark)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
