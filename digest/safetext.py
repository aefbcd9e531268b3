"""The characters no stored, rendered or mailed text may carry, and how they are removed.

One item whose text holds a control character once made MJML refuse a whole edition, so
every member got nothing. The rule lives here, in the foundation, because two layers
apply it: the sources stage when it collects (``sources.clean``) and the store when it
reads items back (text stored by an older version must not reach a renderer either).

Removed: C0 controls but tab and line feed (a carriage return becomes a line feed), DEL,
C1 controls (U+0080-U+009F, first read as the Windows-1252 bytes they almost always are:
"it\\x92s" → "it’s"), lone surrogates (a valid pair split in two is joined first), the
Unicode non-characters (U+FDD0-U+FDEF and the last two code points of every plane), and
the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).

Bidi controls are **stripped, not neutralised**. An unclosed U+202E reverses every
character after it up to the end of its paragraph, and in a mail that paragraph may be a
subject line, the plain-text part, the next item or the unsubscribe link; closing or
isolating them would need the one right construct in each form (HTML ``<bdi>``, a header,
text, Atom) and still lets a title read differently from what it is. Right-to-left text
does not need them: the Unicode bidi algorithm orders Arabic or Hebrew from the letters
themselves, and the harmless marks (LRM U+200E, RLM U+200F, ALM U+061C) are kept.

Text from outside must not forge the per-recipient markers either (``%%EMAIL%%``,
``%%UNSUBSCRIBE_URL%%``, see ``digest.models.PLACEHOLDERS``): they are filled in each
member's message after rendering, so an image ``src="https://tracker/?%%EMAIL%%"`` in a
feed would send every member's address (or unsubscribe token) to its author. A word joiner
(U+2060, invisible) goes between the two leading ``%``: the text reads the same and no
longer matches. (The web version refuses a marker outright, which made such an item fail.)
"""

from __future__ import annotations

import re
import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_C1 = re.compile("[\x80-\x9f]")
_NEWLINES = re.compile("\r\n?")
_NONCHARACTER = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
_UNWANTED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff" + _NONCHARACTER
    + "".join(sorted(BIDI_CONTROLS)) + "]")
# A numeric character reference in HTML (``&#1;``, ``&#x202E;``): checked by value.
_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")
_SPACES = re.compile(r"\s+")
# The shape of every per-recipient marker (``digest.models.PLACEHOLDERS``), and of any
# marker added later.
MARKER = re.compile(r"%%(?=[A-Z][A-Z0-9_]*%%)")
_WORD_JOINER = "\u2060"


def _joined(match: re.Match[str]) -> str:
    high, low = (ord(c) for c in match.group())
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def _from_cp1252(match: re.Match[str]) -> str:
    try:
        return bytes([ord(match.group())]).decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D mean nothing there
        return ""


def is_unwanted(char: str) -> bool:
    """Whether one character is among those this module removes (C1 included)."""
    return bool(_UNWANTED.match(char) or _C1.match(char))


def safe_text(text: str) -> str:
    """``text`` without the unwanted characters and with no per-recipient marker (see the
    module); idempotent, and the identity on text that has neither."""
    if text.isascii() and text.isprintable():
        return _defused(text)  # the common case, checked in C
    text = _PAIR.sub(_joined, text)
    text = _C1.sub(_from_cp1252, text)
    text = _NEWLINES.sub("\n", text)
    return _defused(_UNWANTED.sub("", text))


def _defused(text: str) -> str:
    """No per-recipient marker survives in outside text (see the module)."""
    return MARKER.sub("%" + _WORD_JOINER + "%", text) if "%%" in text else text


def safe_line(text: str) -> str:
    """``safe_text`` on one line: every run of white space (line breaks, tabs, U+2028...)
    becomes one space, so the text is safe in a mail header or a feed title."""
    return _SPACES.sub(" ", safe_text(text)).strip()


def _reference(match: re.Match[str]) -> str:
    hexadecimal, decimal = match.groups()
    value = int(hexadecimal, 16) if hexadecimal else int(decimal)
    if value > 0x10FFFF or is_unwanted(chr(value)):
        return ""
    return match.group()


def safe_html(fragment: str) -> str:
    """``safe_text`` for HTML: also drops character references (``&#1;``, ``&#xD800;``,
    ``&#x202E;``) to what ``safe_text`` removes, since every HTML reader decodes them, and
    unwraps elements nested deeper than ``MAX_DEPTH`` (see ``limit_depth``)."""
    return limit_depth(_REFERENCE.sub(_reference, safe_text(fragment)))


MAX_DEPTH = 16
"""The deepest nesting of elements an item's HTML keeps. Real summaries nest a handful of
levels; 10 000 nested ``<b>`` (70 KB) crash mjml-python's parser with a stack overflow,
which kills the process whatever it catches, and 3 000 nested quotes stop WeasyPrint
("maximum recursion depth exceeded"). The input is what a sanitiser wrote (tags well
formed, attributes quoted, every element closed), so tags are matched by name on a stack."""
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})
_ATTRIBUTE = r"""\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?"""
_TAG = re.compile(rf"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:{_ATTRIBUTE})*)\s*/?>")


def limit_depth(fragment: str, max_depth: int = MAX_DEPTH) -> str:
    """Well-formed HTML (a sanitiser's output) with the elements nested deeper than
    ``max_depth`` unwrapped: their tags dropped, their text and shallower elements kept."""
    if fragment.count("<") <= max_depth:
        return fragment  # too few tags to nest that deep
    out: list[str] = []
    open_tags: list[tuple[str, bool]] = []  # (name, kept)
    position = 0
    for match in _TAG.finditer(fragment):
        out.append(fragment[position:match.start()])
        position = match.end()
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name in _VOID:
            out.append(match.group())
        elif not closing:
            kept = len(open_tags) < max_depth
            open_tags.append((name, kept))
            out.append(match.group() if kept else "")
        elif any(tag == name for tag, _ in reversed(open_tags)):
            while open_tags:
                tag, kept = open_tags.pop()
                if kept:
                    out.append(f"</{tag}>")
                if tag == name:
                    break
        # a closing tag nothing opened: dropped
    out.append(fragment[position:])
    return "".join(out)


# Characters that draw nothing although Unicode calls them letters or symbols (Hangul and
# half-width fillers, the blank Braille pattern): a title of them looks empty.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Categories that draw nothing on their own: format (U+200B, U+2060, U+FEFF), controls,
# separators, unassigned, and combining marks without a base.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Co", "Zs", "Zl", "Zp", "Mn", "Me"})


def has_visible(text: str) -> bool:
    """Whether the text draws at least one character (a title of zero-width spaces, word
    joiners or byte-order marks shows as nothing, and is no title)."""
    return any(not char.isspace() and char not in _BLANK_GLYPHS
               and unicodedata.category(char) not in _INVISIBLE_CATEGORIES for char in text)
