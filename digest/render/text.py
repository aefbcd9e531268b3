"""The text/plain part: the same content as the HTML, readable in any mail client.

Templates in ``templates/text/`` write one logical line per paragraph or list entry; links
become numbered references ("the report [3]") listed under "Links:" at the end; then every
line is wrapped at 72 columns with a hanging indent for list entries. Words are never split,
so URLs and the per-recipient placeholders stay whole even when longer than a line.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from digest.config import Settings
from digest.errors import RenderError
from digest.models import Bulletin, Edition, EditionLinks
from digest.render.templating import render_template
from digest.render.views import bulletin_context, edition_context, safe_url

WIDTH = 72
DIGEST_TEMPLATE = "text/digest.txt.j2"
BULLETIN_TEMPLATE = "text/bulletin.txt.j2"

_MARKER = re.compile(r"^(\s*)((?:[-*•]|\d{1,3}[.)]|\[\d+\]|>)\s+)?")
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "table",
           "pre", "hr", "section", "article", "figure", "figcaption", "dl", "dt", "dd"}


class LinkRefs:
    """Numbers each distinct URL once, in order of first use, for the "Links:" list."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def ref(self, url: str | None) -> str:
        """``[n]`` for a web or mail link, or nothing for a link that leads nowhere."""
        link = safe_url(url)
        if not link:
            return ""
        if link not in self.urls:
            self.urls.append(link)
        return f"[{self.urls.index(link) + 1}]"


@dataclass
class _ListItem:
    marker: str
    used: bool = False
    blocks: int = 0


class _HtmlToText(HTMLParser):
    """Sanitised HTML → logical lines (unwrapped), with lists and link references."""

    def __init__(self, refs: LinkRefs) -> None:
        super().__init__(convert_charrefs=True)
        self.refs = refs
        self.lines: list[str] = []
        self.current: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [next number] or [] for bullets
        self.items: list[_ListItem] = []
        self.quote = 0
        self.hrefs: list[tuple[str, int]] = []
        self.cells = 0

    def flush(self, blank: bool = True) -> None:
        """End the line being built; a paragraph outside lists is followed by a blank line."""
        text = " ".join("".join(self.current).split())
        self.current = []
        if not text:
            return
        indent = "".join(" " * len(item.marker) for item in self.items[:-1])
        prefix = ""
        if self.items:
            item = self.items[-1]
            prefix = item.marker if not item.used else " " * len(item.marker)
            item.used = True
            item.blocks += 1
        self.lines.append("> " * self.quote + indent + prefix + text)
        if blank and not self.items:
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in _BLOCKS:
            self.flush()
            if tag == "blockquote":
                self.quote += 1
            if tag == "tr":
                self.cells = 0
        elif tag == "br":
            self.flush(blank=False)
        elif tag in ("ul", "ol"):
            self.flush()
            self.lists.append([1] if tag == "ol" else [])
        elif tag == "li":
            self.flush(blank=False)
            if self.lists and self.lists[-1]:
                marker = f"{self.lists[-1][0]}. "
                self.lists[-1][0] += 1
            else:
                marker = "- "
            self.items.append(_ListItem(marker))
        elif tag in ("td", "th"):
            if self.cells:
                self.current.append(" | ")
            self.cells += 1
        elif tag == "a":
            self.hrefs.append((values.get("href") or "", len("".join(self.current))))
        elif tag == "img":
            alt = (values.get("alt") or "").strip()
            if alt:
                self.current.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.hrefs:
            href, start = self.hrefs.pop()
            label = "".join(self.current)[start:].strip()
            link = safe_url(href)
            if link and not label:
                self.current.append(link)
            elif link and label not in (link, link.removeprefix("mailto:")):
                self.current.append(" " + self.refs.ref(link))
        elif tag in _BLOCKS:
            self.flush()
            if tag == "blockquote":
                self.quote = max(self.quote - 1, 0)
        elif tag in ("ul", "ol"):
            self.flush(blank=False)
            if self.lists:
                self.lists.pop()
            if not self.lists:
                self.lines.append("")
        elif tag == "li":
            self.flush(blank=False)
            if self.items:
                item = self.items.pop()
                if item.blocks > 1:
                    self.lines.append("")

    def handle_data(self, data: str) -> None:
        self.current.append(data)

    def text(self) -> str:
        self.flush()
        out: list[str] = []
        for line in self.lines:
            if line == "" and (not out or out[-1] == ""):
                continue
            out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(html: str, refs: LinkRefs) -> str:
    """Logical lines of text for sanitised HTML, its links numbered into ``refs``."""
    parser = _HtmlToText(refs)
    parser.feed(html)
    parser.close()
    return parser.text()


def wrap(text: str, width: int = WIDTH) -> str:
    """Wrap every line at ``width`` with a hanging indent; never split a word or URL."""
    out: list[str] = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line if line == "-- " else line.rstrip())
            continue
        match = _MARKER.match(line)
        lead = match.group(1) if match else ""
        marker = (match.group(2) or "") if match else ""
        hanging = lead + " " * len(marker)
        if marker.strip() == ">":
            hanging = lead + marker
        out.extend(textwrap.wrap(
            line[len(lead) + len(marker):], width=width,
            initial_indent=lead + marker, subsequent_indent=hanging,
            break_long_words=False, break_on_hyphens=False,
        ) or [""])
    return "\n".join(out)


def _tidy(text: str) -> str:
    """At most one blank line in a row, none at the start, one newline at the end."""
    text = re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", text.strip("\n"))
    return text + "\n"


def _finish(rendered: str) -> str:
    text = _tidy(wrap(rendered))
    if not text.strip():
        raise RenderError("the text part came out empty")
    return text


def _helpers(refs: LinkRefs) -> dict[str, Any]:
    return {"refs": refs, "html_text": lambda html: html_to_text(str(html), refs)}


def render_edition_text(edition: Edition, settings: Settings, links: EditionLinks,
                        language: str | None = None) -> str:
    """The text part of an edition's email."""
    context = edition_context(edition, settings, links, language)
    context.update(_helpers(LinkRefs()))
    return _finish(render_template(settings, DIGEST_TEMPLATE, context))


def render_bulletin_text(bulletin: Bulletin, settings: Settings, links: EditionLinks) -> str:
    """The text part of a bulletin's email."""
    context = bulletin_context(bulletin, settings, links)
    context.update(_helpers(LinkRefs()))
    return _finish(render_template(settings, BULLETIN_TEMPLATE, context))
