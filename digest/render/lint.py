"""The problem list a coordinator sees before sending: placeholder or broken links, images
without alt text, a message Gmail would clip, empty sections, sections without a heading.
(Whether an image can be fetched is checked by the jobs layer: ``jobs.images``.)

``lint_bulletin`` reads the bulletin's Markdown and locates each problem as ``FILE:LINE``
in the ``.md`` file: each is an error, which holds the bulletin until it is fixed or an
approver overrides it with a reason (docs/console.md); ``lint_email`` reads a rendered
email. The per-recipient placeholders
(``digest.models.PLACEHOLDERS``) are links that are filled in later, never problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import urlsplit

from markdown_it.token import Token

from digest import markdown
from digest.models import PLACEHOLDERS, Bulletin, RenderedEmail

GMAIL_CLIP_BYTES = 102_000
SIZE_WARNING_BYTES = 90_000
_GOOD_SCHEMES = ("http", "https", "mailto")
_NUMBER = re.compile(r"^\d{1,3}[.)]\s*")  # a section's number, as bulletins.py reads it


@dataclass(frozen=True)
class Problem:
    """One thing to fix before sending; ``location`` is ``FILE:LINE`` or a label."""

    severity: Literal["error", "warning"]
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}"


def link_problem(href: str | None) -> str | None:
    """What is wrong with a link target, or None when it leads somewhere real."""
    target = (href or "").strip()
    if target in PLACEHOLDERS.values():
        return None
    if not target:
        return "has no target"
    if target == "#" or (target.startswith("#") and len(target) > 1):
        return f"points to {target!r}, a placeholder" if target == "#" else (
            f"points to {target!r}, an anchor that does not exist in an email")
    try:
        parts = urlsplit(target)
        _ = parts.port
    except ValueError:  # an unclosed IPv6 bracket, a port that is not a number
        return f"points to {target!r}, which cannot be read as an address"
    scheme = parts.scheme.lower()
    if not scheme:
        return f"points to {target!r}, a relative link that leads nowhere outside the site"
    if scheme not in _GOOD_SCHEMES:
        return f"points to {target!r}: only http, https and mailto links work in an email"
    if scheme in ("http", "https") and not parts.netloc:
        return f"points to {target!r}, which has no host"
    return None


# ---------------------------------------------------------------- bulletins


def _link_lines(tokens: list[Token]) -> list[tuple[int, str, str, str]]:
    """(0-based body line, kind, target, label) of every link and image in the tokens."""
    found: list[tuple[int, str, str, str]] = []
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        line = token.map[0] if token.map else 0
        label: list[str] | None = None
        href, link_line = "", line
        for child in token.children:
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "link_open":
                href, label = str(child.attrGet("href") or ""), []
                link_line = line
            elif child.type == "link_close" and label is not None:
                found.append((link_line, "link", href, "".join(label)))
                label = None
            elif child.type == "image":
                found.append((line, "image", str(child.attrGet("src") or ""), child.content))
            elif label is not None and child.type in ("text", "code_inline"):
                label.append(child.content)
            if child.type in ("text", "code_inline"):
                line += child.content.count("\n")
    return found


def lint_bulletin(bulletin: Bulletin) -> list[Problem]:
    """Links that lead nowhere, images without alt text, empty sections and sections
    without a heading, each located at its line of the bulletin's ``.md`` file."""
    file = bulletin.source_path
    split = markdown.split_front_matter(bulletin.markdown)
    body, offset = (split.body, split.body_offset) if split else (bulletin.markdown, 0)
    md = markdown.parser()
    problems: list[Problem] = []
    tokens = md.parse(body)
    for line, kind, target, label in _link_lines(tokens):
        where = f"{file}:{line + offset + 1}"
        if kind == "image" and not label.strip():
            problems.append(Problem("error", where, f"image {target!r} has no alt text"))
        wrong = link_problem(target)
        if wrong:
            what = f"link [{label}]" if kind == "link" else f"image ![{label}]"
            problems.append(Problem("error", where, f"{what} {wrong}"))
    for _, kind, target, label in _link_lines(md.parseInline(bulletin.footer_markdown)):
        wrong = link_problem(target)
        if wrong:
            problems.append(Problem("error", f"{file}:{bulletin.footer_line}",
                                    f"footer {kind} [{label}] {wrong}"))
    problems += _empty_sections(tokens, file, offset)
    problems += _sections_without_heading(tokens, file, offset)
    return problems


def bulletin_images(bulletin: Bulletin) -> list[tuple[str, str]]:
    """(``FILE:LINE``, address) of each image of the bulletin's body that is an http(s)
    address (others are errors already): what the jobs layer checks can be fetched."""
    split = markdown.split_front_matter(bulletin.markdown)
    body, offset = (split.body, split.body_offset) if split else (bulletin.markdown, 0)
    return [(f"{bulletin.source_path}:{line + offset + 1}", target.strip())
            for line, kind, target, _ in _link_lines(markdown.parser().parse(body))
            if kind == "image" and link_problem(target) is None
            and urlsplit(target.strip()).scheme.lower() in ("http", "https")]


def _empty_sections(tokens: list[Token], file: str, offset: int) -> list[Problem]:
    """Level-2 headings followed by nothing before the next one (or the end)."""
    return [Problem("error", f"{file}:{(section.line or 0) + offset + 1}",
                    f"section {section.heading.content!r} is empty")
            for section in markdown.sections(tokens)
            if section.heading is not None and not section.tokens]


def _sections_without_heading(tokens: list[Token], file: str, offset: int) -> list[Problem]:
    """A ``##`` heading with no title (a number alone counts as none), and text after a
    section break (``---``) that no heading starts: a reader sees a part with no name."""
    problems: list[Problem] = []
    for section in markdown.sections(tokens):
        if section.heading is not None and not _NUMBER.sub("", section.title).strip():
            problems.append(Problem("error", f"{file}:{(section.line or 0) + offset + 1}",
                                    "a section has no heading: its `##` line has no title"))
        for index, token in enumerate(section.tokens):
            rest = section.tokens[index + 1:]
            if token.type == "hr" and token.level == 0 and rest and rest[0].type != "hr":
                line = (token.map[0] if token.map else 0) + offset + 1
                problems.append(Problem("error", f"{file}:{line}",
                                        "the text after this section break (---) has no "
                                        "heading: start it with a `## ` line"))
    return problems


# ---------------------------------------------------------------- emails


class _EmailScan(HTMLParser):
    """Collects links, images and section headings of a rendered email."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[int, str, list[str]]] = []
        self.images: list[tuple[int, str, str | None]] = []
        self.open_link: list[str] | None = None
        self.headings: list[tuple[int, str, bool]] = []  # line, title, has content after
        self.heading_text: list[str] | None = None
        self.heading_line = 0
        self.depth_of_footer: list[int] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        line = self.getpos()[0]
        classes = (values.get("class") or "").split()
        if tag not in ("br", "img", "hr", "meta", "link", "input", "col", "area", "source"):
            self.depth += 1
            if "footer" in classes or "funding" in classes:
                self.depth_of_footer.append(self.depth)
        if tag == "a":
            self.links.append((line, values.get("href") or "", []))
            self.open_link = self.links[-1][2]
        elif tag == "img":
            self.images.append((line, values.get("src") or "", values.get("alt")))
            self._content()
        elif tag == "h2":
            self.heading_text = []
            self.heading_line = line

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.open_link = None
        elif tag == "h2" and self.heading_text is not None:
            title = " ".join("".join(self.heading_text).split())
            self.headings.append((self.heading_line, title, False))
            self.heading_text = None
        if self.depth_of_footer and self.depth_of_footer[-1] == self.depth:
            self.depth_of_footer.pop()
        self.depth = max(self.depth - 1, 0)

    def _content(self) -> None:
        if self.headings and not self.depth_of_footer and self.heading_text is None:
            line, title, _ = self.headings[-1]
            self.headings[-1] = (line, title, True)

    def handle_data(self, data: str) -> None:
        if self.open_link is not None:
            self.open_link.append(data)
        if self.heading_text is not None:
            self.heading_text.append(data)
        elif data.strip():
            self._content()


def lint_email(rendered: RenderedEmail, label: str, *, check_links: bool = True,
               ) -> list[Problem]:
    """Problems of a rendered email: links that lead nowhere (errors, as in a bulletin's
    Markdown: they hold a draft's approval), images without alt text,
    sections without content, a size Gmail clips, a missing text part or unsubscribe link.

    ``check_links=False`` when the links were already checked in the source (a bulletin's
    Markdown), where the coordinator can find them by line."""
    problems: list[Problem] = []
    size = len(rendered.html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        problems.append(Problem("error", label,
                                f"the HTML is {size / 1000:.0f} KB: Gmail clips messages over "
                                f"{GMAIL_CLIP_BYTES // 1000} KB (fewer items, shorter summaries)"))
    elif size > SIZE_WARNING_BYTES:
        problems.append(Problem("warning", label,
                                f"the HTML is {size / 1000:.0f} KB, close to Gmail's "
                                f"{GMAIL_CLIP_BYTES // 1000} KB clipping limit"))
    if not rendered.text.strip():
        problems.append(Problem("error", label, "the text part is empty"))
    if not rendered.subject.strip():
        problems.append(Problem("error", label, "the subject is empty"))
    unsubscribe = PLACEHOLDERS["unsubscribe_url"]
    for part, body in (("HTML", rendered.html), ("text", rendered.text)):
        if unsubscribe not in body:
            problems.append(Problem("error", label,
                                    f"the {part} part has no unsubscribe link ({unsubscribe})"))
    scan = _EmailScan()
    scan.feed(rendered.html)
    scan.close()
    for line, href, text in scan.links if check_links else ():
        wrong = link_problem(href)
        if wrong:
            shown = " ".join("".join(text).split()) or "(no text)"
            problems.append(Problem("error", f"{label}:{line}",
                                    f"link {shown!r} {wrong}"))
    for line, src, alt in scan.images:
        if alt is None or not alt.strip():
            problems.append(Problem("warning", f"{label}:{line}",
                                    f"image {src!r} has no alt text"))
    for line, title, has_content in scan.headings:
        if not has_content:
            problems.append(Problem("warning", f"{label}:{line}",
                                    f"section {title!r} is empty"))
    return problems
