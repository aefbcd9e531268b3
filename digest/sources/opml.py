"""An OPML list of feeds → new feed sources, written into ``schedules.yaml`` as a marked block.

The config file is the operator's: its comments, order and layout are theirs. So nothing
re-serialises it. The new sources are inserted as a block of plain lines right after the
last entry of ``sources:`` (or as a new ``sources:`` section at the end), headed by a
comment that says where they came from; the caller validates the new text with
``load_settings`` before it replaces the file. Feeds whose URL is already configured
(compared as canonical links) are left out, so importing the same list twice adds nothing.
An outline's categories, and the titles of the folders around it, become the source's
``themes`` when they name configured themes.
"""

from __future__ import annotations

import json
import re
import unicodedata
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Any

import yaml

from digest.config import Settings
from digest.errors import InputError, SourceError
from digest.identifiers import slugify
from digest.sources.clean import ThemeMapper, canonical_link, is_web_link, plain_title
from digest.sources.guard import defuse_xml

_ID_LIMIT = 40


@dataclass(frozen=True)
class Outline:
    """One feed of the list: its title, feed URL, and the labels around it."""

    title: str
    url: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewSource:
    """A source to add: what goes into the config, and the title for its comment."""

    id: str
    url: str
    title: str
    themes: tuple[str, ...] = ()

    def yaml_line(self) -> str:
        """One flow mapping; strings as JSON, which YAML reads as double-quoted scalars."""
        parts = [f"id: {self.id}", "type: feed", f"url: {json.dumps(self.url)}"]
        if self.themes:
            parts.append(f"themes: [{', '.join(self.themes)}]")
        return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True)
class Plan:
    """What an import would do: the sources to add, and the feeds already configured."""

    added: tuple[NewSource, ...]
    known: tuple[Outline, ...]
    skipped: tuple[str, ...]  # outlines that are not http(s) feeds


def read_opml(data: bytes) -> list[Outline]:
    """Every outline with an ``xmlUrl``, in document order (folders flattened)."""
    try:
        root = ElementTree.fromstring(defuse_xml(data))
    except (ElementTree.ParseError, SourceError) as exc:
        raise InputError(f"not a readable OPML file: {exc}") from None
    if root.tag.lower() != "opml":
        raise InputError(f"not an OPML file (the root element is <{root.tag}>)")
    found: list[Outline] = []
    _walk(root, (), found)
    return found


def _walk(element: ElementTree.Element, around: tuple[str, ...], found: list[Outline]) -> None:
    for child in element:
        if child.tag.lower() not in {"body", "outline"}:
            continue
        label = plain_title(child.get("title") or child.get("text") or "")
        url = (child.get("xmlUrl") or child.get("xmlurl") or "").strip()
        if url:
            own = [c.strip().strip("/") for c in (child.get("category") or "").split(",")]
            found.append(Outline(title=label, url=url,
                                 categories=(*around, *(c for c in own if c))))
        inner = (*around, label) if child.tag.lower() == "outline" and label and not url \
            else around
        _walk(child, inner, found)


def plan_import(outlines: list[Outline], settings: Settings) -> Plan:
    """Which outlines become sources (with unique ids) and which are already there."""
    configured = {canonical_link(s.url) for s in settings.sources if s.url and is_web_link(s.url)}
    ids = {s.id for s in settings.sources}
    mapper = ThemeMapper(settings.theme_list())
    added: list[NewSource] = []
    known: list[Outline] = []
    skipped: list[str] = []
    for outline in outlines:
        if not is_web_link(outline.url):
            skipped.append(f"{outline.title or outline.url}: not an http(s) feed URL")
            continue
        key = canonical_link(outline.url)
        if key in configured:
            known.append(outline)
            continue
        configured.add(key)
        source_id = _unique_id(_slug(outline.title) or _slug(outline.url) or "feed", ids)
        ids.add(source_id)
        added.append(NewSource(id=source_id, url=outline.url.strip(),
                               title=outline.title or outline.url,
                               themes=mapper.themes_for(outline.categories)))
    return Plan(added=tuple(added), known=tuple(known), skipped=tuple(skipped))


def _slug(text: str) -> str:
    """A source id from a title or URL: ASCII letters and digits (accents dropped), hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = slugify(re.sub(r"^https?://(www\.)?", "", ascii_text.lower()))
    return slug[:_ID_LIMIT].rstrip("-")


def _unique_id(base: str, taken: set[str]) -> str:
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base[:_ID_LIMIT - 4]}-{number}"
        number += 1
    return candidate


# ---------------------------------------------------------------- the config file


def insert_sources(config_text: str, added: tuple[NewSource, ...], heading: str) -> str:
    """The config text with ``added`` as a block after the last entry of ``sources:``."""
    lines = config_text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    node = _sources_node(config_text)
    if node is None:
        block = _block(added, heading, "  ")
        return "".join(lines) + "\nsources:\n" + "".join(block)
    if not isinstance(node, yaml.SequenceNode) or node.flow_style or not node.value:
        raise InputError("sources: is not a block list (one `- ...` per line); write it as "
                         "one so imported sources can be added after its last entry")
    last = node.value[-1]
    first_line = lines[last.start_mark.line]
    indent = first_line[: len(first_line) - len(first_line.lstrip(" "))]
    after = _last_line(last) + 1
    return "".join([*lines[:after], *_block(added, heading, indent), *lines[after:]])


def _sources_node(text: str) -> yaml.Node | None:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise InputError(f"the config is not valid YAML: {exc}") from None
    if not isinstance(root, yaml.MappingNode):
        raise InputError("the config is not a mapping of sections")
    for key, value in root.value:
        if key.value == "sources":
            return None if _is_null(value) else value
    return None


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _last_line(node: yaml.Node) -> int:
    """The last line (0-based) that holds part of ``node``."""
    end = node.end_mark
    line: int = end.line if end.column > 0 else end.line - 1
    children: list[Any] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    if children and not getattr(node, "flow_style", False):
        line = max(_last_line(child) for child in children)
    return line


def _block(added: tuple[NewSource, ...], heading: str, indent: str) -> list[str]:
    block = [f"{indent}# {heading}\n"]
    for source in added:
        block.append(f"{indent}# {source.title}\n")
        block.append(f"{indent}- {source.yaml_line()}\n")
    return block
