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
