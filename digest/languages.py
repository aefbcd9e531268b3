"""Language tags (BCP 47, RFC 5646): the one check every language setting goes through.

A language reaches HTML ``lang`` attributes, ``Content-Language`` headers, variant keys and
Babel, so ``site.language``, a bulletin's ``language``, a member's language (CSV import,
``digest subscribers add``) and the members' preferences page all accept only a well-formed
tag: ``language[-extlang][-script][-region][-variant...][-extension...][-x-private]``.
Babel's ``Locale.parse`` is not used for this: it accepts what it knows, not what the
grammar allows, and raises on unknown but valid tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_TAG_LENGTH = 16  # the store keeps 16 characters; "ca-ES-valencia" is 14

_ALNUM = "[A-Za-z0-9]"
_TAG = re.compile(
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3})"  # language, extlang
    r"(?:-[A-Za-z]{4})?"  # script
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"  # region
    rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*"  # variants
    rf"(?:-[0-9A-WYZa-wyz](?:-{_ALNUM}{{2,8}})+)*"  # extensions
    rf"(?:-[Xx](?:-{_ALNUM}{{1,8}})+)?"  # private use
)
EXAMPLES = "en, fr, pt-BR or sr-Latn"


def is_language_tag(value: object) -> bool:
    """Whether ``value`` is a well-formed BCP 47 tag of at most ``MAX_TAG_LENGTH`` characters."""
    return (isinstance(value, str) and len(value) <= MAX_TAG_LENGTH
            and _TAG.fullmatch(value) is not None)


def language_tag(value: object) -> str:
    """``value`` as a language tag (surrounding spaces removed), or ``ValueError`` saying why."""
    text = value.strip() if isinstance(value, str) else value
    if is_language_tag(text):
        assert isinstance(text, str)
        return text
    shown = repr(value) if not isinstance(value, str) or len(value) <= 40 \
        else repr(value[:40]) + "..."
    raise ValueError(f"expected a BCP 47 language tag such as {EXAMPLES} "
                     f"(at most {MAX_TAG_LENGTH} characters), got {shown}")


def normalized(tag: str) -> str:
    """A tag compared case-blind and with ``_`` read as ``-`` (``fr_BE`` is ``fr-be``): tags
    are case-insensitive (RFC 5646 §2.1.1) and the stores keep what people typed."""
    return tag.strip().replace("_", "-").lower()


def nearest(wanted: str | None, available: Iterable[str]) -> str | None:
    """The one of ``available`` a reader of ``wanted`` reads best, as ``available`` spells
    it: the same tag, else the closest broader one (``fr`` for ``fr-BE``, RFC 4647's lookup),
    else one of the same primary language (``fr-FR`` for ``fr``); None when none is."""
    if not wanted:
        return None
    spelled = {normalized(tag): tag for tag in available}
    parts = normalized(wanted).split("-")
    for end in range(len(parts), 0, -1):
        found = spelled.get("-".join(parts[:end]))
        if found is not None:
            return found
    return next((tag for key, tag in spelled.items() if key.split("-")[0] == parts[0]), None)
