"""The names the store keeps as text for things that are more than text, each built and
parsed here only.

- ``EditionSeries``: whose edition a row is, stored as ``editions.digest_id``: a digest's
  id (``weekly``) or ``bulletin:<slug>`` for a bulletin's single edition.
- An edition's label, how operators name it: ``weekly/3``, ``bulletin:<slug>/1``.
- ``VariantKey``: which members' version of an edition a delivery row gets, stored as
  ``deliveries.variant_key``: ``all`` or the sorted theme slugs joined by ``+``, prefixed
  with ``<language>:`` when its readers do not read the site's language (``fr:a+b``).

The text forms are stored and shown, so they never change; the value types let the code
ask "is this a bulletin?" or "which themes?" without splitting strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

_BULLETIN_MARK = "bulletin:"
_ALL_THEMES = "all"
_LANGUAGE_MARK = ":"
_THEME_JOIN = "+"


class EditionKind(StrEnum):
    """What an edition is of: a digest's slot, or a bulletin (one edition each)."""

    DIGEST = "digest"
    BULLETIN = "bulletin"


@dataclass(frozen=True)
class EditionSeries:
    """The digest or bulletin an edition belongs to; ``str()`` is its stored text."""

    kind: EditionKind
    name: str  # the digest's id or the bulletin's slug

    @classmethod
    def of_digest(cls, digest_id: str) -> EditionSeries:
        """A digest's series of editions."""
        return cls(EditionKind.DIGEST, digest_id)

    @classmethod
    def of_bulletin(cls, slug: str) -> EditionSeries:
        """A bulletin's series: its one edition."""
        return cls(EditionKind.BULLETIN, slug)

    @classmethod
    def parse(cls, stored: str) -> EditionSeries:
        """The series a stored ``digest_id`` names."""
        if stored.startswith(_BULLETIN_MARK):
            return cls.of_bulletin(stored.removeprefix(_BULLETIN_MARK))
        return cls.of_digest(stored)

    @property
    def is_bulletin(self) -> bool:
        """Whether the series is a bulletin's (else a digest's)."""
        return self.kind is EditionKind.BULLETIN

    def label(self, number: int) -> str:
        """How operators name the series' edition ``number``: ``weekly/3``."""
        return f"{self}/{number}"

    def __str__(self) -> str:
        return _BULLETIN_MARK + self.name if self.is_bulletin else self.name


def parse_label(label: str) -> tuple[EditionSeries, int] | None:
    """The series and number an edition label names (None when it names none)."""
    series, _, number = label.rpartition("/")
    if not number.isdigit():
        return None
    return EditionSeries.parse(series), int(number)


@dataclass(frozen=True)
class VariantKey:
    """A version of an edition: its readers' language (None: the site's) and theme subset
    (None: every theme); ``str()`` is its stored text."""

    language: str | None = None
    themes: frozenset[str] | None = None

    @classmethod
    def of(cls, themes: Iterable[str], language: str | None = None) -> VariantKey:
        """The variant of these themes (none: every theme) in ``language``."""
        chosen = frozenset(themes)
        return cls(language or None, chosen or None)

    @classmethod
    def everything(cls) -> VariantKey:
        """The full edition: every theme, in the site's language (stored as ``all``); a
        bulletin's only variant."""
        return cls()

    @classmethod
    def parse(cls, text: str) -> VariantKey:
        """The variant a stored key names (the inverse of ``str()``)."""
        language, mark, themes = text.partition(_LANGUAGE_MARK)
        if not mark:
            language, themes = "", text
        return cls(language or None, None if themes == _ALL_THEMES
                   else frozenset(themes.split(_THEME_JOIN)))

    def __str__(self) -> str:
        key = _THEME_JOIN.join(sorted(self.themes)) if self.themes else _ALL_THEMES
        return f"{self.language}{_LANGUAGE_MARK}{key}" if self.language else key


# ---------------------------------------------------------------- slugs

# A slug names a theme, a bulletin or a source in URLs, file names and stored ids: lower
# case ASCII letters, digits and hyphens, starting with a letter or digit.
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def slugify(text: str) -> str:
    """``text`` as a slug: lower case, every run of other characters one hyphen, no hyphen
    at either end; empty when nothing is left (the caller picks a fallback). Accents are
    not folded: a bulletin's slug, derived from its file name, is stored and must not change."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
