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

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from markdown_it.token import Token
from pydantic import ValidationError

from digest import markdown, yaml_loader
from digest.config import Settings
from digest.config.bulletin_meta import WORDING, BulletinMeta, themes_of
from digest.config.locator import Locator, validation_problems
from digest.errors import ConfigProblem, InputError, capped
from digest.identifiers import slugify
from digest.models import Bulletin, BulletinSection
from digest.reading import TooLargeError, describe_size, read_bounded
from digest.safetext import is_unwanted

_NUMBERED = re.compile(r"^(\d{1,3})[.)]\s+(\S.*)$")
MAX_BULLETIN_BYTES = 128 * 1024  # 30 times the sample; Gmail clips an email past 102 KB
__all__ = ["MAX_BULLETIN_BYTES", "LoadedBulletins", "content_hash", "load_bulletin",
           "load_bulletins", "parse_body", "parse_bulletin", "render_inline"]


def content_hash(data: bytes) -> str:
    """The SHA-256 (hex) of a bulletin file's bytes: what an approval is tied to."""
    return hashlib.sha256(data).hexdigest()


def _slug_from_stem(stem: str) -> str:
    return slugify(stem) or "bulletin"


# ---------------------------------------------------------------- the body


def parse_body(text: str) -> tuple[str, tuple[BulletinSection, ...]]:
    """The introduction's HTML and the sections of a bulletin's Markdown body (each also
    split at the bullet list it ends with, where upcoming events join it)."""
    md = markdown.parser()
    env: dict[str, Any] = {}
    intro = ""
    sections: list[BulletinSection] = []
    def html(tokens: list[Token]) -> str:
        return str(md.renderer.render(tokens, md.options, env)).strip()

    for section in markdown.sections(md.parse(text, env)):
        if section.heading is None:
            intro = html(section.tokens)
            continue
        title = section.title
        number: int | None = None
        match = _NUMBERED.match(title)
        if match:
            number, title = int(match.group(1)), match.group(2).strip()
        lead, items = markdown.closing_list(section.tokens)
        sections.append(BulletinSection(title=title, body_html=html(section.tokens),
                                        number=number, lead_html=html(lead),
                                        list_items_html=html(items)))
    return intro, tuple(sections)


def render_inline(text: str) -> str:
    """One paragraph of Markdown (a footer) as inline HTML."""
    return str(markdown.parser().renderInline(text.strip())).strip()


# ---------------------------------------------------------------- loading


def load_bulletin(path: Path, settings: Settings) -> Bulletin:
    """Read one bulletin file, or raise ``InputError`` listing every problem in it."""
    shown = str(path)
    return parse_bulletin(_read_bytes(path, shown), shown, path.stem, settings)


def parse_bulletin(data: bytes, shown: str, stem: str, settings: Settings) -> Bulletin:
    """A bulletin file's bytes (named ``shown`` in problems; ``stem`` gives the default
    slug) checked as ``load_bulletin`` checks a file: the console validates a text before
    it writes it, with the very rules a run applies. The bulletin carries the hash of
    these bytes, so its state is judged on what was parsed, never on a second read."""
    if len(data) > MAX_BULLETIN_BYTES:
        raise InputError(f"{shown}: (file): {describe_size(len(data))}, over the limit of "
                         f"{describe_size(MAX_BULLETIN_BYTES)} for a bulletin")
    text = _decoded(data, shown)
    split = markdown.split_front_matter(text)
    if split is None:
        required = (name for name, key in BulletinMeta.model_fields.items() if key.is_required())
        raise InputError(f"{shown}:1: (front matter): a bulletin starts with YAML front matter "
                         f"between --- lines, with at least {', '.join(required)}")
    meta, problems, locator = _read_meta(split, shown, settings)
    problems += _table_problems(split, shown)
    if problems or meta is None:
        raise InputError("\n".join(str(problem) for problem in capped(problems)))
    intro, sections = parse_body(split.body)
    return Bulletin(
        slug=meta.slug or _slug_from_stem(stem),
        title=meta.title,
        forum=meta.forum,
        group=meta.group,
        place=meta.place,
        start_date=meta.date,
        end_date=meta.end_date,
        themes=meta.themes,
        sections=sections,
        footer_html=render_inline(meta.footer) if meta.footer else "",
        intro_html=intro,
        language=meta.language or settings.site.language,
        source_path=shown,
        markdown=text,
        send_at=meta.send_at,
        footer_markdown=meta.footer,
        footer_line=locator.line_of(("footer",)) or 1,
        content_hash=content_hash(data),
    )


def _read_meta(split: markdown.SplitFile, shown: str, settings: Settings,
               ) -> tuple[BulletinMeta | None, list[ConfigProblem], Locator]:
    """The checked front matter, or the problems found in it, each at its line (the front
    matter text starts at the end of the file's first line, so its lines are the file's),
    and the lines of its keys."""
    try:
        node, meta = yaml_loader.load(split.front_matter)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{shown}:{line}: (front matter): not valid YAML: {reason}") from None
    locator = Locator.of(shown, node, top_line=1)
    problems = [locator.problem(key, f"duplicate key (first given on line {first})")
                for key, first in locator.duplicates]
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise InputError(f"{shown}:2: (front matter): expected key: value lines")
    try:
        checked = BulletinMeta.model_validate({str(k): v for k, v in meta.items()},
                                              context=themes_of(settings))
    except ValidationError as exc:
        return None, problems + locator.problems(validation_problems(exc, WORDING)), locator
    return checked, problems, locator


MAX_TABLE_COLUMNS = 12  # wider does not fit a phone, nor an A4 page
MAX_TABLE_CELLS = 600  # laying out a table costs the PDF far more than its text


def _table_problems(split: markdown.SplitFile, shown: str) -> list[ConfigProblem]:
    """Tables a reader can use, and whose PDF layout stays cheap: a 500-column table of
    100 KB took WeasyPrint a minute and a gigabyte."""
    columns = cells = 0
    first: int | None = None
    for token in markdown.parser().parse(split.body):
        if token.type == "table_open":
            cells, first = 0, (token.map[0] if token.map else 0) + split.body_offset + 1
        elif token.type == "tr_open":
            columns = 0
        elif token.type in ("th_open", "td_open"):
            columns, cells = columns + 1, cells + 1
            if columns > MAX_TABLE_COLUMNS or cells > MAX_TABLE_CELLS:
                return [ConfigProblem(shown, first, "(body)",
                                      f"a table of more than {MAX_TABLE_COLUMNS} columns or "
                                      f"{MAX_TABLE_CELLS} cells: split it, or link to a "
                                      "document instead")]
    return []


def _read_bytes(path: Path, shown: str) -> bytes:
    """The file's bytes, read within ``MAX_BULLETIN_BYTES``, or a located ``InputError``."""
    try:
        return read_bounded(path, MAX_BULLETIN_BYTES)
    except FileNotFoundError:
        raise InputError(f"{shown}: no such bulletin file") from None
    except TooLargeError as exc:
        raise InputError(f"{shown}: (file): {exc} for a bulletin") from None
    except OSError as exc:
        raise InputError(f"{shown}: (file): unreadable: {exc.strerror or exc}") from None


def _decoded(data: bytes, shown: str) -> str:
    """The file's text, or a located ``InputError``."""
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
