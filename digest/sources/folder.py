"""A folder of Markdown notes with YAML front matter → items.

Coordinators write items that exist in no feed (a lab, a call, a report) as plain files.
The front matter says what the item is; the body is Markdown, rendered without raw HTML
and sanitised like any feed's content. A note the product cannot read is skipped and reported
with its file name, so its author knows which one to fix and the other notes still count.

Front matter keys: ``title`` (required), ``kind``, ``link``, ``summary``, ``published``
(or ``date``), ``themes``/``tags``/``categories`` (a list or a comma-separated string),
and for events ``start``, ``end`` (inclusive) and ``location``.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

from digest import yaml_loader
from digest.config import SourceSettings
from digest.config.locator import Locator, dotted
from digest.dates import YEARS, date_or_utc, parse_iso, utc_instant, within_years
from digest.errors import SourceError
from digest.markdown import parser, split_front_matter
from digest.models import EventInfo, Item, Kind
from digest.sources.clean.identity import canonical_link, is_web_link
from digest.sources.clean.markup import (
    SUMMARY_LIMIT,
    plain_text,
    plain_title,
    sanitize_html,
    text_to_html,
)
from digest.sources.clean.themes import ThemeMapper, keyword_text, kind_from, kind_of
from digest.sources.fetch import read_file
from digest.sources.parsed import Parsed, left_out
from digest.sources.reader import ReadContext

_CATEGORY_KEYS = ("themes", "tags", "categories")
MAX_FRONT_MATTER = 64 * 1024
"""The most front matter a note may have, in characters, checked before YAML reads it:
a few keys and a summary are a few KB, and PyYAML is pure Python (a 1.3 MB front matter
took 3.7 s of CPU to refuse by its count of values, at each poll and for each such note)."""
MAX_BODY = 5 * SUMMARY_LIMIT
"""The most of a note's body rendered, in characters: its summary keeps ``SUMMARY_LIMIT``
characters of HTML, which Markdown gives from far less (a 10 MB body took 30 s of CPU and
900 MB to render, and 7 s more to clean, to keep 20 000 characters)."""
_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]{1,999}\]:[ \t]*\S[^\n]{0,2000}$", re.MULTILINE)
_DEFINITIONS_KEPT = 1000


def read_folder(folder: Path, context: ReadContext) -> Parsed:
    """Every readable ``*.md`` note of the folder, in file-name order; each note that
    cannot be read is a problem naming its file."""
    source, settings, mapper = context.source, context.settings, context.mapper
    if not folder.is_dir():
        raise SourceError(f"no such folder: {folder}")
    markdown = parser(extended=False)
    now = context.clock.now()
    parsed = Parsed()
    inside = folder.resolve()
    limit = settings.collect.max_items
    names, total = _first_names(folder, limit)
    if total > limit:
        parsed.problems.append(left_out(total - limit, limit, "notes"))
    read: list[str] = []
    for path in (folder / name for name in names):
        try:
            if not path.resolve().is_relative_to(inside):
                raise SourceError(f"{path.name}: a link to a file outside the folder "
                                  "(refused: only the folder's own notes are read)")
            parsed.items.append(_note(path, source, settings.site.zone, mapper, markdown, now,
                                      settings.collect.max_bytes))
            read.append(path.name)
        except SourceError as exc:
            parsed.problems.append(str(exc))
        except Exception as exc:  # one note must not cost the folder, whatever it holds
            parsed.problems.append(f"{path.name}: unexpected {type(exc).__name__}: {exc}")
    # Notes that link to one page (a project's site) are several items: their link is no
    # key of theirs, their file is.
    counts = Counter(item.key for item in parsed.items)
    parsed.items = [replace(item, key=f"file:{source.id}/{name}") if counts[item.key] > 1
                    else item for item, name in zip(parsed.items, read, strict=True)]
    return parsed


def _first_names(folder: Path, limit: int) -> tuple[list[str], int]:
    """The first ``limit`` note names in file-name order, and how many notes there are.

    Names are streamed through a heap of ``limit``, so a folder of 100 000 files holds
    ``limit`` of them; sub-folders are never entered (nor counted, even named ``x.md``),
    and hidden files are not notes: neither takes a note's place under the bound (a
    FIFO or device is a note here, so the bounded reader refuses it by name)."""
    total = 0

    def notes() -> Iterator[str]:
        nonlocal total
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith(".md") and not entry.name.startswith(".") \
                        and not entry.is_dir():
                    total += 1
                    yield entry.name

    first = heapq.nsmallest(limit, notes())
    return first, total


@dataclass(frozen=True)
class _Note:
    """A note cut in two: its front matter's values, where each key was written, and its
    Markdown body."""

    meta: Mapping[str, Any]
    body: str
    locator: Locator
    skipped_lines: int  # blank lines before the opening ``---``, which a note may have

    def line_of(self, key: str) -> int | None:
        """The line of the note where the front matter sets ``key``."""
        line = self.locator.line_of((key,))
        return line + self.skipped_lines if line is not None else None


def _note(
    path: Path,
    source: SourceSettings,
    zone: tzinfo,
    mapper: ThemeMapper,
    markdown: MarkdownIt,
    now: datetime,
    limit: int,
) -> Item:
    try:
        note = _read_note(path.name, read_file(path, limit).data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SourceError(f"{path.name}: not UTF-8 text") from None
    except (yaml.YAMLError, ValueError, TypeError, AttributeError) as exc:
        raise SourceError(f"{path.name}: unreadable front matter: {exc}") from None
    except SourceError as exc:
        raise SourceError(f"{path.name}: {exc}") from None
    for key, first in note.locator.duplicates:  # YAML would silently keep the last
        at = (note.locator.line_of(key) or 1) + note.skipped_lines
        raise SourceError(f"{path.name}:{at}: {dotted(key)}: duplicate key (first given "
                          f"on line {first + note.skipped_lines})")
    try:
        # A note without a date is dated by its file's modification time, stable from poll
        # to poll so an unchanged note is not reported as updated; never later than now.
        undated = min(datetime.fromtimestamp(path.stat().st_mtime, tz=UTC), now)
        return _item(path.name, note.meta, note.body, source, zone, mapper, markdown,
                     undated)
    except _FieldError as exc:
        line = note.line_of(exc.key)
        raise SourceError(f"{path.name}:{line}: {exc}" if line else f"{path.name}: {exc}") \
            from None
    except ValueError as exc:
        raise SourceError(f"{path.name}: {exc}") from None


def _read_note(name: str, text: str) -> _Note:
    """The note's front matter (read by the bounded loader: a note cannot hold an alias
    bomb) and body, cut as bulletins are. A note without front matter is all body; front
    matter that is no mapping gives no values; white space around the note is dropped."""
    stripped = text.strip()
    split = split_front_matter(stripped)
    if split is None:
        return _Note({}, stripped, Locator(name), 0)
    if len(split.front_matter) > MAX_FRONT_MATTER:
        raise ValueError(f"over {MAX_FRONT_MATTER // 1024} KB (the body goes after the "
                         "closing ---)")
    node, meta = yaml_loader.load(split.front_matter)
    skipped_lines = text[:len(text) - len(text.lstrip())].count("\n")
    return _Note(meta if isinstance(meta, dict) else {}, split.body.strip(),
                 Locator.of(name, node), skipped_lines)


class _FieldError(ValueError):
    """A front-matter value that is wrong, with its key, so the message can give its line."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def _item(
    name: str,
    meta: Mapping[str, Any],
    body: str,
    source: SourceSettings,
    zone: tzinfo,
    mapper: ThemeMapper,
    markdown: MarkdownIt,
    undated: datetime,
) -> Item:
    title = plain_title(_text(meta, "title"))
    if not title:
        raise ValueError("front matter needs a title")
    link = _text(meta, "link").strip() or None
    if link is not None and not is_web_link(link):
        raise ValueError(f"link must be an absolute http(s) URL, got {link!r}")
    categories = [label for key in _CATEGORY_KEYS for label in _labels(meta.get(key), key)]
    start = _moment(meta.get("start"), "start", zone)
    kind = _kind(meta.get("kind"), categories, Kind.EVENT if start else source.kind)
    event: EventInfo | None = None
    if kind is Kind.EVENT:
        if start is None:
            raise ValueError("an event needs start (a date or a date-time)")
        end = _moment(meta.get("end"), "end", zone)
        if end is not None and isinstance(end, datetime) != isinstance(start, datetime):
            raise ValueError("start and end must both be dates or both date-times")
        location = plain_text(_text(meta, "location")) or None
        event = EventInfo(start=start, end=end, location=location)
    summary = _text(meta, "summary").strip()
    summary_html = sanitize_html(text_to_html(summary) if summary
                                 else markdown.render(_shown_part(body)))
    dated_by = "published" if "published" in meta else "date"
    published = _moment(meta.get(dated_by), dated_by, zone)
    return Item(
        key=canonical_link(link) if link else f"file:{source.id}/{name}",
        kind=kind,
        title=title,
        link=link,
        summary_html=summary_html,
        published=utc_instant(published, zone) if published is not None else undated,
        themes=mapper.themes_for(categories, source.themes, keyword_text(title, summary_html)),
        source_id=source.id,
        event=event,
        undated=published is None,
    )


def _shown_part(body: str) -> str:
    """The part of a body that can reach the summary: its first ``MAX_BODY`` characters,
    and the link reference definitions (``[1]: https://...``) after them, which links
    before the cut may use."""
    if len(body) <= MAX_BODY:
        return body
    found = itertools.islice(_DEFINITION.finditer(body, MAX_BODY), _DEFINITIONS_KEPT)
    return "\n\n".join([body[:MAX_BODY], *(match.group(0) for match in found)])


def _text(meta: Mapping[str, Any], key: str) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if isinstance(value, str | int | float) and not isinstance(value, bool) \
            and not (isinstance(value, float) and not math.isfinite(value)):
        return str(value)  # a title "2024" is fine; ".inf" or "true" is no text anyone meant
    raise ValueError(f"{key} must be text, got {value!r:.60}")


def _labels(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return [str(part).strip() for part in value if str(part).strip()]
    raise ValueError(f"{key} must be a list or a comma-separated text")


def _kind(value: Any, categories: list[str], default: Kind | None) -> Kind:
    if value is None or value == "":
        return kind_from(categories, default)
    kind = kind_of(str(value))
    if kind is None and str(value) in {k.value for k in Kind}:
        kind = Kind(str(value))
    if kind is None:
        choices = ", ".join(k.value for k in Kind)
        raise ValueError(f"unknown kind {value!r} (expected one of: {choices})")
    return kind


def _moment(value: Any, key: str, zone: tzinfo) -> date | datetime | None:
    """A front-matter date stays a date; a date-time becomes aware UTC (naive: site zone).
    A date outside the years the product keeps (``within_years``, as written) is refused before
    it is converted: at year 1 or 9999 a change of zone overflows."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = parse_iso(text)
        except ValueError:
            raise _FieldError(key, f"expected an ISO date such as 2019-03-27 "
                              f"or 2019-03-27T10:00:00+01:00, got {text[:60]!r}") from None
    if isinstance(value, date):
        written = value.date() if isinstance(value, datetime) else value  # as typed, unzoned
        if not within_years(written):
            raise _FieldError(key, f"a date outside the years {YEARS}, got {value.isoformat()}")
        return date_or_utc(value, zone)
    raise _FieldError(key, f"expected a date or a date-time, got {str(value)[:60]!r}")

