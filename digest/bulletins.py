"""Coordinator-written bulletins: Markdown with YAML front matter → ``Bulletin``.

A bulletin file looks like this (see ``sample/bulletins/``)::

    ---
    title: Updates from WG Smart Social Inclusion
    forum: EUROCITIES Social Affairs Forum
    group: WG Smart Social Inclusion
    place: Glasgow                 # optional
    date: 2019-03-25
    end_date: 2019-03-27           # optional, inclusive
    language: en                   # optional, default site.language
    themes: [economy]              # optional, known theme slugs (or their aliases)
    footer: "Funded by ... <http://ec.europa.eu/social/easi>"   # optional, inline Markdown
    send_at: 2019-03-20T09:00:00+01:00                          # optional, with an offset
    slug: wg-ssi-2019-03           # optional, default: the file name without .md
    ---

    Text before the first heading is the introduction.

    ## 1. Working group meeting in Stuttgart on 24 October
    ...

Every level-2 heading starts a section; a heading that starts with a number ("1. ...")
gives the section its number. Raw HTML in the Markdown is shown as text, never passed on;
placeholder links such as ``[here](#)`` are kept as written, so the lint can report them.
Every problem is reported at once as ``FILE:LINE: key: what is wrong`` in an ``InputError``.

A file is read only up to ``MAX_BULLETIN_BYTES`` (checked before reading): everything after
it is linear in the file's size, but the PDF costs about 20 ms and 0.3 MB of memory per KB
of Markdown, so a 2 MB file would take a minute and most of a gigabyte to render. The front
matter goes through the bounded YAML loader (no alias bomb, no deep nesting, an impossible
date is reported at its key rather than raised).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler
from markdown_it import MarkdownIt
from markdown_it.token import Token

from digest import yaml_loader
from digest.config import Settings, shown
from digest.dates import YEARS, within_years
from digest.errors import MAX_PROBLEMS_PER_KEY, InputError
from digest.languages import language_tag
from digest.models import Bulletin, BulletinSection
from digest.reading import TooLargeError, read_bounded
from digest.safetext import has_visible, is_unwanted

REQUIRED = ("title", "forum", "group", "date")
OPTIONAL = ("place", "end_date", "language", "themes", "footer", "send_at", "slug")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_NUMBERED = re.compile(r"^(\d{1,3})[.)]\s+(\S.*)$")
MAX_BULLETIN_BYTES = 128 * 1024  # 30 times the sample; Gmail clips an email past 102 KB


def markdown_parser() -> MarkdownIt:
    """CommonMark without raw HTML, plus tables and strikethrough."""
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


@dataclass(frozen=True)
class SplitFile:
    """A bulletin file cut in two: the front matter text and the Markdown body.

    ``body_offset`` is the number of file lines before the body's first line, so line ``n``
    (0-based) of the body is line ``n + body_offset + 1`` of the file.
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


class _Problems:
    """Collects ``FILE:LINE: key: message`` lines, to be raised together.

    At most ``MAX_PROBLEMS_PER_KEY`` lines per kind of problem (``kind``: the key, unless
    told), then one "... and N more" line: ten thousand unknown themes are one mistake,
    not a megabyte of output."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: list[str] = []
        self.counts: dict[str, int] = {}
        self.hidden: dict[str, tuple[int, str]] = {}  # kind → (how many, summary line)

    def add(self, line: int | None, key: str, message: str, kind: str | None = None) -> None:
        kind = kind or key
        where = f"{self.file}:{line}" if line else self.file
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.counts[kind] <= MAX_PROBLEMS_PER_KEY:
            self.lines.append(f"{where}: {key}: {message}")
        else:
            hidden = self.counts[kind] - MAX_PROBLEMS_PER_KEY
            noun = kind if kind != key else "problems"
            self.hidden[kind] = (hidden, f"{where}: {key}: ... and {hidden} more {noun}")

    def raise_if_any(self) -> None:
        if self.lines:
            raise InputError("\n".join([*self.lines,
                                        *(summary for _, summary in self.hidden.values())]))


def _key_lines(node: yaml.Node | None, meta: Any, problems: _Problems) -> dict[str, int]:
    """The file line of every top-level key (the front matter text starts with the end of
    the ``---`` line); a key given twice is a problem (YAML would keep the last value)."""
    lines: dict[str, int] = {}
    merge_line: int | None = None
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if key_node.tag == yaml_loader.MERGE_TAG:
                # ``<<: *anchor``: merged keys may be overridden (standard YAML).
                merge_line = merge_line or key_node.start_mark.line + 1
                continue
            key, line = str(key_node.value), key_node.start_mark.line + 1
            if key in lines:
                problems.add(line, key, f"duplicate key (first given on line {lines[key]})",
                             kind="duplicate keys")
                continue
            lines[key] = line
    if merge_line is not None and isinstance(meta, dict):
        for key in meta:  # a key that came from a merge: its problems point at the ``<<``
            lines.setdefault(str(key), merge_line)
    return lines


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # ``.inf`` is no title anyone meant
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()
    return None


def _date(value: Any) -> date | str:
    """The date, or why the value is none (``2019-02-30``: the day is out of range)."""
    if isinstance(value, datetime):
        return "a date without a time was expected"
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            return str(exc)
    return "not a date"


def _aware(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    return None


def _theme_index(settings: Settings) -> dict[str, str]:
    """Every name a theme is known by (slug, title, aliases; any case) → its slug."""
    index: dict[str, str] = {}
    for slug, theme in settings.themes.items():
        for name in (slug, theme.title, *theme.aliases):
            index.setdefault(name.strip().casefold(), slug)
    return index


def _read_meta(meta: dict[str, Any], lines: dict[str, int], settings: Settings,
               problems: _Problems) -> dict[str, Any]:
    """Check the front matter's values; every problem goes to ``problems``."""
    out: dict[str, Any] = {}
    for key in meta:
        if key not in REQUIRED and key not in OPTIONAL:
            problems.add(lines.get(key), key,
                         f"unknown key (expected: {', '.join(REQUIRED + OPTIONAL)})",
                         kind="unknown keys")
    for key in REQUIRED:
        if meta.get(key) in (None, ""):
            problems.add(lines.get(key, 1), key, "required key is missing or empty")
    for key in ("title", "forum", "group", "place"):
        if meta.get(key) in (None, ""):
            continue
        text = _text(meta[key])
        if text is None or "\n" in text:
            problems.add(lines.get(key), key, "expected one line of text")
        elif not has_visible(text):  # zero-width spaces, word joiners: a blank heading
            problems.add(lines.get(key), key, "expected visible text, got only invisible "
                         f"characters {shown(text)}")
        out[key] = text
    for key in ("date", "end_date"):
        if meta.get(key) in (None, ""):
            continue
        value = _date(meta[key])
        if isinstance(value, str):
            problems.add(lines.get(key), key,
                         f"expected a date such as 2019-03-25, got {meta[key]!r} ({value})")
            continue
        if not within_years(value):
            problems.add(lines.get(key), key, f"expected a date in the years {YEARS}, "
                         f"got {value.isoformat()}")
            continue
        out[key] = value
    if out.get("date") and out.get("end_date") and out["end_date"] < out["date"]:
        problems.add(lines.get("end_date"), "end_date",
                     f"ends ({out['end_date']}) before it starts ({out['date']})")
    language = meta.get("language") or settings.site.language
    try:
        out["language"] = language_tag(language)
    except ValueError as exc:
        problems.add(lines.get("language"), "language", str(exc))
        out["language"] = settings.site.language
    out["themes"] = _themes(meta.get("themes"), lines.get("themes"), settings, problems)
    footer = meta.get("footer")
    if footer is not None and not isinstance(footer, str):
        problems.add(lines.get("footer"), "footer", "expected Markdown text")
    out["footer"] = footer if isinstance(footer, str) else ""
    if meta.get("send_at") is not None:
        out["send_at"] = _aware(meta["send_at"])
        if out["send_at"] is None:
            problems.add(lines.get("send_at"), "send_at",
                         "expected a date and time with its offset, such as "
                         f"2019-03-20T09:00:00+01:00, got {meta['send_at']!r}")
        elif not within_years(out["send_at"]):
            problems.add(lines.get("send_at"), "send_at",
                         f"expected a time in the years {YEARS}, got {meta['send_at']!r}")
            out["send_at"] = None
    if meta.get("slug") is not None:
        slug = _text(meta["slug"])
        if not slug or not _SLUG.match(slug):
            problems.add(lines.get("slug"), "slug",
                         "expected lower case letters, digits and hyphens")
        out["slug"] = slug
    return out


def _themes(value: Any, line: int | None, settings: Settings,
            problems: _Problems) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        problems.add(line, "themes", "expected a list of theme slugs")
        return ()
    index = _theme_index(settings)
    slugs: list[str] = []
    for name in names:
        slug = index.get(name.strip().casefold())
        if slug is None:
            known = ", ".join(settings.themes) or "none defined in the config"
            problems.add(line, "themes", f"unknown theme {shown(name)} (known: {known})",
                         kind="unknown themes")
        elif slug not in slugs:
            slugs.append(slug)
    return tuple(slugs)


def _slug_from_stem(stem: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "bulletin"


# ---------------------------------------------------------------- the body


def _plain_text(inline: Token) -> str:
    parts: list[str] = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def _segments(tokens: list[Token]) -> Iterator[tuple[Token | None, list[Token]]]:
    """(heading inline token or None for the intro, the body tokens) per level-2 heading."""
    heading: Token | None = None
    body: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open" and token.tag == "h2" and token.level == 0:
            yield heading, body
            heading, body = tokens[index + 1], []
            index += 3  # heading_open, inline, heading_close
            continue
        body.append(token)
        index += 1
    yield heading, body


def parse_body(markdown: str) -> tuple[str, tuple[BulletinSection, ...]]:
    """The introduction's HTML and the sections of a bulletin's Markdown body."""
    md = markdown_parser()
    env: dict[str, Any] = {}
    tokens = md.parse(markdown, env)
    intro = ""
    sections: list[BulletinSection] = []
    for heading, body in _segments(tokens):
        html = md.renderer.render(body, md.options, env).strip()
        if heading is None:
            intro = html
            continue
        title = _plain_text(heading)
        number: int | None = None
        match = _NUMBERED.match(title)
        if match:
            number, title = int(match.group(1)), match.group(2).strip()
        sections.append(BulletinSection(title=title, body_html=html, number=number))
    return intro, tuple(sections)


def render_inline(markdown: str) -> str:
    """One paragraph of Markdown (a footer) as inline HTML."""
    return str(markdown_parser().renderInline(markdown.strip())).strip()


# ---------------------------------------------------------------- loading


def load_bulletin(path: Path, settings: Settings) -> Bulletin:
    """Read one bulletin file, or raise ``InputError`` listing every problem in it."""
    shown = str(path)
    problems = _Problems(shown)
    text = _read_text(path, shown)
    split = split_front_matter(text)
    if split is None:
        raise InputError(f"{shown}:1: (front matter): a bulletin starts with YAML front matter "
                         f"between --- lines, with at least {', '.join(REQUIRED)}")
    try:
        node, meta = yaml_loader.load(split.front_matter)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{shown}:{line}: (front matter): not valid YAML: {reason}") from None
    lines = _key_lines(node, meta, problems)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise InputError(f"{shown}:2: (front matter): expected key: value lines")
    values = _read_meta(meta, lines, settings, problems)
    _check_tables(split, problems)
    problems.raise_if_any()
    intro, sections = parse_body(split.body)
    return Bulletin(
        slug=values.get("slug") or _slug_from_stem(path.stem),
        title=values["title"],
        forum=values["forum"],
        group=values["group"],
        place=values.get("place"),
        start_date=values["date"],
        end_date=values.get("end_date"),
        themes=values["themes"],
        sections=sections,
        footer_html=render_inline(values["footer"]) if values["footer"] else "",
        intro_html=intro,
        language=values["language"],
        source_path=shown,
        markdown=text,
        send_at=values.get("send_at"),
    )


MAX_TABLE_COLUMNS = 12  # wider does not fit a phone, nor an A4 page
MAX_TABLE_CELLS = 600  # laying out a table costs the PDF far more than its text


def _check_tables(split: SplitFile, problems: _Problems) -> None:
    """Tables a reader can use, and whose PDF layout stays cheap: a 500-column table of
    100 KB took WeasyPrint a minute and a gigabyte."""
    columns = cells = 0
    first: int | None = None
    for token in markdown_parser().parse(split.body):
        if token.type == "table_open":
            cells, first = 0, (token.map[0] if token.map else 0) + split.body_offset + 1
        elif token.type == "tr_open":
            columns = 0
        elif token.type in ("th_open", "td_open"):
            columns, cells = columns + 1, cells + 1
            if columns > MAX_TABLE_COLUMNS or cells > MAX_TABLE_CELLS:
                problems.add(first, "(body)", f"a table of more than {MAX_TABLE_COLUMNS} "
                             f"columns or {MAX_TABLE_CELLS} cells: split it, or link to a "
                             "document instead")
                return


def _read_text(path: Path, shown: str) -> str:
    """The file's text, read within ``MAX_BULLETIN_BYTES``, or a located ``InputError``."""
    try:
        data = read_bounded(path, MAX_BULLETIN_BYTES)
    except FileNotFoundError:
        raise InputError(f"{shown}: no such bulletin file") from None
    except TooLargeError as exc:
        raise InputError(f"{shown}: (file): {exc} for a bulletin") from None
    except OSError as exc:
        raise InputError(f"{shown}: (file): unreadable: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{shown}:{line}: (file): not UTF-8 (byte {data[exc.start]:#04x}): "
                         "save the file as UTF-8") from None
    found = next((i for i, c in enumerate(text) if is_unwanted(c)), None)
    if found is not None:  # it would stop the MJML compiler, far from its cause
        raise InputError(f"{shown}:{text.count(chr(10), 0, found) + 1}: (file): holds the "
                         f"character U+{ord(text[found]):04X} (a control or invisible "
                         "formatting character): remove it")
    return text


@dataclass(frozen=True)
class LoadedBulletins:
    """The bulletins of a folder that loaded, and one message per file that did not."""

    bulletins: tuple[Bulletin, ...]
    problems: tuple[str, ...]


def load_bulletins(folder: Path, settings: Settings) -> LoadedBulletins:
    """Every ``*.md`` bulletin of a folder, sorted by file name.

    A broken file is reported and skipped, so one coordinator's typo does not hold back
    another group's bulletin; a file whose slug is already taken is skipped too.
    """
    if not folder.is_dir():
        raise InputError(f"{folder}: no such bulletin folder")
    bulletins: list[Bulletin] = []
    problems: list[str] = []
    slugs: dict[str, str] = {}
    for path in sorted(folder.glob("*.md"), key=lambda p: p.name):
        try:
            bulletin = load_bulletin(path, settings)
        except InputError as exc:
            problems.append(str(exc))
            continue
        if bulletin.slug in slugs:
            problems.append(f"{bulletin.source_path}: slug: {bulletin.slug!r} is already used "
                            f"by {slugs[bulletin.slug]}")
            continue
        slugs[bulletin.slug] = bulletin.source_path
        bulletins.append(bulletin)
    return LoadedBulletins(tuple(bulletins), tuple(problems))
