"""Message bodies in quoted-printable, prepared once per variant, filled per member.

A part (the text or the HTML of a rendered variant) is split at the per-recipient
placeholders of ``digest.models.PLACEHOLDERS`` and its fixed pieces encoded once
(``prepare_part``); per member only the few values are encoded (``qp``, with the plain
ASCII of addresses, names and links cut into lines directly) and put in place with one
``bytes %`` (``Part.fill``).

The pieces are joined with quoted-printable soft line breaks (``=`` at the end of a line),
which decode to nothing, so the decoded part is exactly the template with the values in
place, and no encoded line is longer than 76 characters (RFC 2045). Every piece and value
so starts a line, and each can be dot-stuffed for SMTP on its own: the fixed pieces once
(``Part.wire``), a member's values per message (``wire_values``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email import quoprimime
from functools import lru_cache

from digest.mail.envelope import dot_stuffed
from digest.models import PLACEHOLDERS

QP_LINE = 76  # RFC 2045's limit for a quoted-printable line, soft break included
_PLACEHOLDER = re.compile("|".join(re.escape(marker) for marker in PLACEHOLDERS.values()))
_KEY_OF = {marker: key for key, marker in PLACEHOLDERS.items()}


@dataclass(frozen=True)
class Part:
    """A prepared part body: its encoded bytes as a ``%b`` format, one ``%b`` per
    placeholder, filled per recipient (one C-level ``%`` instead of a join in Python)."""

    format: bytes
    keys: tuple[str, ...]  # the placeholders in order
    distinct: frozenset[str]
    wire: bytes  # ``format`` with its fixed pieces dot-stuffed (the same object if no dot)

    def fill(self, encoded: dict[str, bytes]) -> bytes:
        """The part with each placeholder's encoded value in place."""
        return self.format % tuple(encoded[key] for key in self.keys)

    def fill_wire(self, stuffed: dict[str, bytes]) -> bytes:
        """The part as SMTP carries it, given the values of ``wire_values``."""
        return self.wire % tuple(stuffed[key] for key in self.keys)


@lru_cache(maxsize=64)  # a few editions' variants (two parts each) at a time
def prepare_part(template: str) -> Part:
    """Split a part at its placeholders and encode the fixed pieces once, and once per
    process: a worker's send jobs (``workers.batch`` messages each) make their factories
    again from the same kept variants, and encoding a 45 kB part cost 1 ms per variant, a
    tenth of a job's CPU on the sample edition. A ``Part`` is immutable, so shared."""
    text = template.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    pieces: list[bytes | None] = []  # None: a value's place
    keys: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > position:
            pieces.append(qp(text[position:match.start()]))
        pieces.append(None)
        keys.append(_KEY_OF[match.group()])
        position = match.end()
    pieces.append(qp(text[position:]))
    plain = _as_format(pieces)
    wire = _as_format([piece and dot_stuffed(piece) for piece in pieces])
    return Part(plain, tuple(keys), frozenset(keys), plain if wire == plain else wire)


def _as_format(pieces: list[bytes | None]) -> bytes:
    """Encoded pieces as one ``%b`` format, a ``%b`` at each value's place (None)."""
    return b"".join(b"%b" if piece is None else piece.replace(b"%", b"%%")
                    for piece in pieces)


def wire_values(encoded: dict[str, bytes]) -> dict[str, bytes]:
    """A member's encoded values dot-stuffed for ``Part.fill_wire`` (the same dict when no
    line of theirs starts with a dot, as nearly always)."""
    if not any(value.startswith(b".") or b"\n." in value for value in encoded.values()):
        return encoded
    return {key: dot_stuffed(value) for key, value in encoded.items()}


def html_values(values: dict[str, str], plain: dict[str, bytes],
                keys: frozenset[str]) -> dict[str, bytes]:
    """The values encoded for HTML: escaped, and encoded again only where escaping changed
    something (an address or a link seldom has ``&``, ``<`` or quotes)."""
    encoded = {}
    for key in keys:
        escaped = html.escape(values[key], quote=True)
        encoded[key] = plain[key] if escaped == values[key] else qp(escaped)
    return encoded


def qp(text: str) -> bytes:
    """Quoted-printable for one piece, its lines at most 76 characters, ending with a hard
    line break if the text does and a soft one otherwise (so the next piece continues it)."""
    if not text:
        return b""
    if _QP_PLAIN.fullmatch(text):  # a member's value, usually: nothing to encode
        return _qp_plain(text)
    encoded = quoprimime.body_encode(text.encode("utf-8").decode("latin-1"), QP_LINE - 1,
                                     "\r\n")
    if encoded.endswith("\r\n"):
        return encoded.encode("ascii")
    return (encoded + "=\r\n").encode("ascii")


# Printable ASCII (a space, but not last), what members' values and our links are: ``=``
# becomes ``=3D`` and the line is cut exactly as ``quoprimime.body_encode`` cuts it (74
# characters and a soft break, never inside an escape), without its per-character table.
# Tests check it gives the encoder's bytes.
_QP_PLAIN = re.compile(r"[ !-~]*[!-~]")
_QP_CUT = QP_LINE - 2


def _qp_plain(text: str) -> bytes:
    line = text.replace("=", "=3D")
    if len(line) < QP_LINE:
        return (line + "=\r\n").encode("ascii")
    lines, start, last_start = [], 0, len(line) - QP_LINE
    while start <= last_start:
        stop = start + _QP_CUT
        if line[stop - 2] == "=":
            lines.append(line[start:stop - 1])
            start = stop - 2
        elif line[stop - 1] == "=":
            lines.append(line[start:stop])
            start = stop - 1
        else:
            lines.append(line[start:stop] + "=")
            start = stop
    lines.append(line[start:])
    return ("\r\n".join(lines) + "=\r\n").encode("ascii")
