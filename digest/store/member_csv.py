"""Reading a members CSV within bounds: every row checked and numbered, none trusted.

The file is read as bytes up to ``MAX_CSV_BYTES`` (checked before reading) and decoded as
UTF-8 (a BOM is allowed). A row that is not UTF-8 (a file saved as Latin-1 or Windows-1252),
that holds a line break, control characters (a binary file) or a value over
``MAX_FIELD_CHARS``, or that
the CSV parser refuses, is reported with its line and left out; the other rows are returned.
At most ``MAX_ROWS`` members are read from one file.

The same module writes the CSV the console exports (``members_csv``): the columns read here,
so an export imported again changes nothing. A value a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-`` or ``@``) is written behind a ``'``, which a spreadsheet
hides and this reader removes again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from digest.errors import InputError
from digest.reading import read_input

MAX_CSV_BYTES = 16 * 1024 * 1024
MAX_ROWS = 100_000
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
    """The checked rows of a members CSV; ``InputError`` when the whole file is unusable
    (unreadable, over the size limit, no header, a column named twice or a required column
    missing). Problems name the file ``shown`` (an upload's own name), else ``path``."""
    data = read_input(path, MAX_CSV_BYTES, "a members CSV")
    path = Path(shown) if shown is not None else path
    text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    hint = _encoding_hint(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
    except csv.Error as exc:
        raise InputError(f"{path}:1: the header is not CSV: {exc}") from None
    if problem := _cell_problem(header, header, hint):
        raise InputError(f"{path}:1: header: {problem}")
    if duplicate := next((c for n, c in enumerate(header) if c and c in header[:n]), None):
        raise InputError(f"{path}:1: duplicate column {duplicate!r}")  # which one would win?
    missing = [column for column in required if column not in header]
    if missing:
        raise InputError(f"{path}:1: missing column(s): {', '.join(missing)}")
    result = CsvRows()
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
            result.problems.append((line, f"{path}:{line}: {reason}"))
            continue
        finally:
            start = reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(result.rows) >= MAX_ROWS:
            result.problems.append((line, f"{path}:{line}: more than {MAX_ROWS} members in "
                                    "one file: this row and the ones after it are not imported"))
            break
        if problem := _cell_problem(cells, header, hint):
            result.problems.append((line, f"{path}:{line}: {problem}"))
            continue
        values = (_unguarded(cell) for cell in cells)
        result.rows.append(CsvRow(line, dict(zip(header, values, strict=False))))
    return result


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


def _cell_problem(cells: list[str], header: list[str], hint: str) -> str | None:
    """Why a row cannot be read, or None."""
    for position, cell in enumerate(cells):
        column = header[position] if position < len(header) else f"column {position + 1}"
        if _LINE_BREAK.search(cell):
            return f"{column}: line break inside a field (a value is one line)"
        if _CONTROL.search(cell):
            return f"{column}: control characters (is this a binary file?)"
        if found := _UNDECODED.search(cell):
            byte = ord(found.group()) - 0xDC00
            return f"{column}: not UTF-8 (byte {byte:#04x}){hint}; save the file as UTF-8"
        if len(cell) > MAX_FIELD_CHARS:
            return f"{column}: longer than {MAX_FIELD_CHARS} characters"
        if position >= len(header) and cell.strip():
            return (f"{len(cells)} values for {len(header)} columns (quote a value that "
                    "has a comma)")
    return None


def _encoding_hint(data: bytes) -> str:
    """Say so when a file that is not UTF-8 reads as Windows-1252 (which covers Latin-1's
    letters), the usual export of spreadsheet programs."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            data.decode("cp1252")
        except UnicodeDecodeError:
            return ""
        return ": the file looks like Latin-1 or Windows-1252"
    return ""
