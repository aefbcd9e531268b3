"""Make hostile or damaged XML bytes safe to hand to a parser.

Two things go wrong with real feeds before any parser sees them:

- **Entity expansion.** A DOCTYPE may declare entities that expand to gigabytes ("billion
  laughs", or one large entity referenced many times). Expat refuses the first, but
  feedparser then retries with its lenient parser, which expands declared entities without
  a limit: measured at 47 s and 7 GB for a 2.5 MB document. Feeds have no use for declared
  entities, so the internal subset of the DOCTYPE is removed; references to the entities
  it declared are then left as text. A document whose declarations cannot be cut out
  cleanly is refused.
- **Control characters.** A stray form feed or NUL makes a feed invalid XML, so the strict
  parser gives up and the lenient one guesses. C0 controls other than tab, line feed and
  carriage return are removed from documents in ASCII-compatible encodings, and so are
  the numeric character references to a character XML forbids (``&#1;``, ``&#xD800;``,
  ``&#xFFFE;``, ``&#x110000;``): the strict parser refuses the document for one, and
  feedparser's lenient parser then stops on a lone surrogate or a value past U+10FFFF
  (``UnicodeEncodeError``, ``ValueError``), so one such title lost every item of its feed.
- **Mixed encodings.** A feed that says (or defaults to) UTF-8 often carries a few
  Windows-1252 bytes pasted from elsewhere; parsers then guess another encoding for the
  whole document and garble every accent. Such bytes are re-read as Windows-1252, one by
  one, and the document stays UTF-8.
"""

from __future__ import annotations

import codecs
import re

from digest.errors import SourceError

_DOCTYPE = re.compile(rb"<!DOCTYPE\b", re.IGNORECASE)
_SUBSET_END = re.compile(rb"\]\s*>")
_ENTITY = re.compile(rb"<!ENTITY\b", re.IGNORECASE)
_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_REFERENCE = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
# The ENTITY keyword as UTF-16 and UTF-32 write it, for documents in those encodings.
_WIDE_ENTITY = tuple("<!ENTITY".encode(codec) for codec in
                     ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"))


def _is_wide(data: bytes) -> bool:
    """Whether a document is UTF-16 or UTF-32 (a BOM, or NUL bytes around its first "<")."""
    head = data[:4]
    return head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or (
        len(head) == 4 and b"\x00" in head)


def defuse_xml(data: bytes, content_type: str | None = None) -> bytes:
    """``data`` without declared entities or stray control characters, and with stray
    Windows-1252 bytes of a UTF-8 document repaired; ``SourceError`` when entity
    declarations cannot be removed safely."""
    if _is_wide(data):
        if any(marker in data for marker in _WIDE_ENTITY):
            raise SourceError("a UTF-16/32 document that declares XML entities is refused "
                              "(possible entity-expansion bomb)")
        return data
    data = _without_internal_subset(data)
    if b"&#" in data:
        data = _REFERENCE.sub(_legal_reference, data)
    return repair_utf8(_CONTROLS.sub(b"", data), content_type)


def _legal_reference(match: re.Match[bytes]) -> bytes:
    """A character reference kept when XML allows its character (``Char`` in XML 1.0:
    tab, line feed, carriage return, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF),
    else nothing."""
    hexadecimal, decimal = match.groups()
    digits = (hexadecimal or decimal).lstrip(b"0")
    if len(digits) > 7:  # beyond U+10FFFF whichever the base
        return b""
    value = int(hexadecimal, 16) if hexadecimal else int(decimal)
    allowed = (value in (0x9, 0xA, 0xD) or 0x20 <= value <= 0xD7FF
               or 0xE000 <= value <= 0xFFFD or 0x10000 <= value <= 0x10FFFF)
    return match.group() if allowed else b""


_DECLARED = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_UTF8_NAMES = frozenset({"utf-8", "utf8"})


def _byte_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: an invalid byte is read as Windows-1252 (else dropped)."""
    assert isinstance(error, UnicodeDecodeError)
    byte = error.object[error.start:error.start + 1]
    try:
        text = byte.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    return text, error.start + 1


codecs.register_error("digest-cp1252", _byte_as_cp1252)


def repair_utf8(data: bytes, content_type: str | None = None) -> bytes:
    """A document meant as UTF-8 (declared, or by XML's default) made valid UTF-8."""
    names: set[str] = set()
    if charset := _CHARSET.search(content_type or ""):
        names.add(charset.group(1).lower())
    if declared := _DECLARED.match(data):
        names.add(declared.group(1).decode("ascii").lower())
    if names - _UTF8_NAMES:
        return data  # another encoding is named: the parser decodes it
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "digest-cp1252").encode("utf-8")
    return data


def _without_internal_subset(data: bytes) -> bytes:
    doctype = _DOCTYPE.search(data)
    if doctype is None:
        if _ENTITY.search(data[:_first_element(data)]):
            raise SourceError("entity declarations outside a DOCTYPE (refused)")
        return data
    head_end = data.find(b">", doctype.end())
    bracket = data.find(b"[", doctype.end())
    if bracket == -1 or (head_end != -1 and head_end < bracket):
        return data  # an external DTD only (never fetched): nothing is declared here
    end = _SUBSET_END.search(data, bracket)
    if end is None:
        raise SourceError("a DOCTYPE whose internal subset never ends (refused)")
    cleaned = data[:doctype.start()] + data[end.end():]
    prolog = cleaned[:_first_element(cleaned)]
    if _ENTITY.search(prolog) or _DOCTYPE.search(prolog):
        raise SourceError("entity declarations that cannot be removed safely "
                          "(possible entity-expansion bomb)")
    return cleaned


def _first_element(data: bytes) -> int:
    """Where the root element starts (the prolog ends), or the end of the data."""
    match = re.search(rb"<[A-Za-z_]", data)
    return match.start() if match else len(data)
