"""Reading a members CSV within bounds: every row checked and numbered, none trusted.

The file is read as a stream of bytes up to its limit (checked before reading, and again as
it is read) and decoded as UTF-8 (a BOM is allowed): ``MAX_CSV_BYTES`` and ``MAX_ROWS`` for
an upload in the console, planned in memory (``read_members_csv``); ``MAX_IMPORT_BYTES`` and
``MAX_IMPORT_ROWS`` for a file ``digest subscribers import`` or a run imports in batches
(``MembersCsv``), whose memory does not grow with the file. A row that is not UTF-8 (a file
saved as Latin-1 or Windows-1252), that holds a line break, control characters (a binary
file) or a value over ``MAX_FIELD_CHARS``, or that the CSV parser refuses, is reported with
its line and left out; the other rows are returned.

The same module writes the CSV the console exports (``members_csv``): the columns read here,
so an export imported again changes nothing. A value a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-`` or ``@``) is written behind a ``'``, which a spreadsheet
hides and this reader removes again.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from digest.errors import InputError
from digest.reading import describe_size, open_regular

MAX_CSV_BYTES = 16 * 1024 * 1024  # an upload in the console, planned in memory
MAX_ROWS = 100_000
# A file ``digest subscribers import`` and a run read from disk, streamed in batches: its
# size costs time, not memory (a million members is about 60 MB).
MAX_IMPORT_BYTES = 1024 * 1024 * 1024
MAX_IMPORT_ROWS = 5_000_000
MAX_FIELD_CHARS = 1_000  # an address is at most 254 characters; a name far less
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_LINE_BREAK = re.compile("[\r\n\x85\u2028\u2029]")  # a quoted value may span lines; ours may not
_FORMULA = ("=", "+", "-", "@")  # what spreadsheets start a formula with (CSV injection)
COLUMNS = ("email", "name", "language", "digests", "themes", "status")


@dataclass(frozen=True)
class CsvRow:
    """One row's values by (lower-cased) column name, and the file line it starts on."""

    line: int
    values: dict[str, str]


@dataclass
class CsvRows:
    """The rows a members CSV holds that can be imported, and the ones refused."""

    rows: list[CsvRow] = field(default_factory=list)
    # (line, "FILE:LINE: what is wrong"): the line kept apart, to sort by without parsing
    problems: list[tuple[int, str]] = field(default_factory=list)


def read_members_csv(path: Path, required: tuple[str, ...] = ("email",), *,
                     shown: str | None = None) -> CsvRows:
    """The checked rows of a members CSV of at most ``MAX_CSV_BYTES`` and ``MAX_ROWS`` (an
    upload, planned in memory); ``InputError`` when the whole file is unusable (unreadable,
    over the size limit, no header, a column named twice or a required column missing).
    Problems name the file ``shown`` (an upload's own name), else ``path``."""
    with MembersCsv(path, required, shown=shown) as read:
        rows = list(read.rows())
        return CsvRows(rows, read.problems)


class MembersCsv:
    """A members CSV read as a stream (``with MembersCsv(path) as read: for row in
    read.rows(): ...``): the header is checked on entering (``InputError`` for an unusable
    file, as ``read_members_csv``), rows come one at a time and ``problems`` fills as they
    are read, so a file of millions of members is imported in bounded memory."""

    def __init__(self, path: Path, required: tuple[str, ...] = ("email",), *,
                 shown: str | None = None, max_bytes: int | None = None,
                 max_rows: int | None = None) -> None:
        self._path, self._required = path, required
        self._max_bytes = MAX_CSV_BYTES if max_bytes is None else max_bytes
        self._max_rows = MAX_ROWS if max_rows is None else max_rows
        self.shown = Path(shown) if shown is not None else path
        self.problems: list[tuple[int, str]] = []  # (line, "FILE:LINE: what is wrong")
        self._handle: BinaryIO | None = None
        self._hint: str | None = None

    def __enter__(self) -> MembersCsv:
        try:
            raw = os.fdopen(open_regular(self._path), "rb")
        except OSError as exc:
            raise InputError(f"{self._path}: cannot read: {exc.strerror or exc}") from None
        self._handle = raw
        size = os.fstat(raw.fileno()).st_size
        if size > self._max_bytes:
            raw.close()
            raise InputError(f"{self._path}: (file): the file is {describe_size(size)}, over "
                             f"the limit of {describe_size(self._max_bytes)} for a members CSV")
        bounded = io.BufferedReader(_Bounded(raw, self._max_bytes, self._path), 1 << 16)
        text = io.TextIOWrapper(bounded, encoding="utf-8",
                                errors="surrogateescape", newline="")
        self._reader = csv.reader(_without_bom(text))
        try:
            self._header = [cell.strip().lower() for cell in next(self._reader, [])]
        except csv.Error as exc:
            raise InputError(f"{self.shown}:1: the header is not CSV: {exc}") from None
        header = self._header
        if problem := _cell_problem(header, header, self._encoding_hint):
            raise InputError(f"{self.shown}:1: header: {problem}")
        if duplicate := next((c for n, c in enumerate(header) if c and c in header[:n]), None):
            raise InputError(f"{self.shown}:1: duplicate column {duplicate!r}")  # which wins?
        missing = [column for column in self._required if column not in header]
        if missing:
            raise InputError(f"{self.shown}:1: missing column(s): {', '.join(missing)}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()

    def rows(self) -> Iterator[CsvRow]:
        """The rows that can be imported, in file order; the others go to ``problems``."""
        path, reader, header, taken = self.shown, self._reader, self._header, 0
        start = reader.line_num + 1
        while True:
            line = start
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # the parser's own bound (128 KB) or a broken quote
                reason = (f"a value longer than {MAX_FIELD_CHARS} characters"
                          if "field limit" in str(exc) else f"not a CSV row: {exc}")
                self.problems.append((line, f"{path}:{line}: {reason}"))
                continue
            finally:
                start = reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if taken >= self._max_rows:
                self.problems.append((line, f"{path}:{line}: more than {self._max_rows} "
                                      "members in one file: this row and the ones after it "
                                      "are not imported"))
                break
            if problem := _cell_problem(cells, header, self._encoding_hint):
                self.problems.append((line, f"{path}:{line}: {problem}"))
                continue
            taken += 1
            values = (_unguarded(cell) for cell in cells)
            yield CsvRow(line, dict(zip(header, values, strict=False)))

    def _encoding_hint(self) -> str:
        """``_encoding_hint`` of the whole file, worked out once, when a row needs it."""
        if self._hint is None:
            self._hint = _file_encoding_hint(self._path, self._max_bytes)
        return self._hint


class _Bounded(io.RawIOBase):
    """A file read no further than its limit: it may grow while it is read."""

    def __init__(self, handle: BinaryIO, limit: int, path: Path) -> None:
        self._handle, self._left, self._path, self._limit = handle, limit, path, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._handle.readinto(buffer)  # type: ignore[attr-defined]
        self._left -= count
        if self._left < 0:
            raise InputError(f"{self._path}: (file): the file is over the limit of "
                             f"{describe_size(self._limit)} for a members CSV")
        return int(count)


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    first = True
    for line in lines:
        yield line.removeprefix("\ufeff") if first else line
        first = False


def members_csv(rows: Iterable[Sequence[str]]) -> bytes:
    """A members CSV (UTF-8, the header ``COLUMNS``) of rows in that order, each value that
    a spreadsheet would take for a formula guarded by a ``'``."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([f"'{cell}" if cell.startswith(_FORMULA) else cell for cell in row])
    return out.getvalue().encode("utf-8")


def _unguarded(cell: str) -> str:
    """A value as written before ``members_csv`` guarded it."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in _FORMULA else cell


def _cell_problem(cells: list[str], header: list[str], hint: Callable[[], str]) -> str | None:
    """Why a row cannot be read, or None."""
    for position, cell in enumerate(cells):
        column = header[position] if position < len(header) else f"column {position + 1}"
        if _LINE_BREAK.search(cell):
            return f"{column}: line break inside a field (a value is one line)"
        if _CONTROL.search(cell):
            return f"{column}: control characters (is this a binary file?)"
        if found := _UNDECODED.search(cell):
            byte = ord(found.group()) - 0xDC00
            return f"{column}: not UTF-8 (byte {byte:#04x}){hint()}; save the file as UTF-8"
        if len(cell) > MAX_FIELD_CHARS:
            return f"{column}: longer than {MAX_FIELD_CHARS} characters"
        if position >= len(header) and cell.strip():
            return (f"{len(cells)} values for {len(header)} columns (quote a value that "
                    "has a comma)")
    return None


def _file_encoding_hint(path: Path, limit: int) -> str:
    """Say so when a file that is not UTF-8 reads as Windows-1252 (which covers Latin-1's
    letters), the usual export of spreadsheet programs; read again in pieces, as it may be
    large."""
    utf8, cp1252 = codecs.getincrementaldecoder("utf-8")(), \
        codecs.getincrementaldecoder("cp1252")()
    with os.fdopen(open_regular(path), "rb") as handle:
        left = limit
        while chunk := handle.read(min(1 << 20, max(left, 0) + 1)):
            left -= len(chunk)
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                break
        else:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                pass
            else:
                return ""
        handle.seek(0)
        try:
            while chunk := handle.read(1 << 20):
                cp1252.decode(chunk)
        except UnicodeDecodeError:
            return ""
    return ": the file looks like Latin-1 or Windows-1252"
