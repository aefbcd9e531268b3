"""Markdown files as people write them: one parser, front matter, and sections.

Bulletins and notes are Markdown with YAML front matter between ``---`` lines; a bulletin's
level-2 headings start its sections. Reading a bulletin and linting it must agree on all
three, so both use this module: the same CommonMark parser (no raw HTML, plus tables and
strikethrough; a folder's notes use it too, plain), the same cut of the front matter, the
same walk into sections (and the bullet list a section ends with).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from frontmatter.default_handlers import YAMLHandler
from markdown_it import MarkdownIt
from markdown_it.token import Token


def parser(*, extended: bool = True) -> MarkdownIt:
    """CommonMark without raw HTML (it is shown as text); ``extended`` adds tables and
    strikethrough, which bulletins use (a folder's notes are read as plain CommonMark)."""
    markdown = MarkdownIt("commonmark", {"html": False})
    return markdown.enable(["table", "strikethrough"]) if extended else markdown


@dataclass(frozen=True)
class SplitFile:
    """A file cut in two: the front matter text and the Markdown body.

    The front matter text starts with the end of the opening ``---`` line, so its line
    ``n`` (0-based) is line ``n + 1`` of the file. ``body_offset`` is the number of file
    lines before the body's first line, so line ``n`` (0-based) of the body is line
    ``n + body_offset + 1`` of the file.
    """

    front_matter: str
    body: str
    body_offset: int


def split_front_matter(text: str) -> SplitFile | None:
    """Cut a file at its ``---`` delimiters; None when it has no front matter."""
    handler = YAMLHandler()
    if not handler.detect(text):
        return None
    try:
        front, body = handler.split(text)
    except ValueError:
        return None
    return SplitFile(front, body, text.count("\n", 0, len(text) - len(body)))


@dataclass(frozen=True)
class Section:
    """The tokens under one level-2 heading; ``heading`` is None for the text before the
    first heading (the introduction)."""

    heading: Token | None  # the heading's inline token
    line: int | None  # the heading's 0-based line in the parsed text
    tokens: list[Token]

    @property
    def title(self) -> str:
        """The heading as plain text (emphasis and code marks dropped)."""
        return plain_text(self.heading) if self.heading else ""


def sections(tokens: list[Token]) -> Iterator[Section]:
    """The introduction, then one ``Section`` per top-level ``##`` heading."""
    heading: Token | None = None
    line: int | None = None
    body: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open" and token.tag == "h2" and token.level == 0:
            yield Section(heading, line, body)
            heading, body = tokens[index + 1], []
            line = token.map[0] if token.map else 0
            index += 3  # heading_open, inline, heading_close
            continue
        body.append(token)
        index += 1
    yield Section(heading, line, body)


def closing_list(tokens: list[Token]) -> tuple[list[Token], list[Token]]:
    """The tokens before the bullet list these top-level tokens end with, and that list's
    items' tokens; all the tokens and none when they end otherwise. A bulletin's upcoming
    events join the list its "Upcoming meetings" section ends with."""
    if not tokens or tokens[-1].type != "bullet_list_close" or tokens[-1].level != 0:
        return tokens, []
    start = max(index for index, token in enumerate(tokens)
                if token.type == "bullet_list_open" and token.level == 0)
    return tokens[:start], tokens[start + 1:-1]


def plain_text(inline: Token) -> str:
    """The text of an inline token, marks dropped and white space collapsed."""
    parts: list[str] = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())
