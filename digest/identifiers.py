"""The names the store keeps as text for things that are more than text, each built and
parsed here only.

- ``EditionSeries``: whose edition a row is, stored as ``editions.digest_id``: a digest's
  id (``weekly``) or ``bulletin:<slug>`` for a bulletin's single edition.
- An edition's label, how operators name it: ``weekly/3``, ``bulletin:<slug>/1``.

The text forms are stored and shown, so they never change; the value types let the code
ask "is this a bulletin?" without splitting strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

_BULLETIN_MARK = "bulletin:"


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

