"""What a parser gives back when part of a source can be read and part cannot."""

from __future__ import annotations

from dataclasses import dataclass, field

from digest.models import Item


@dataclass
class Parsed:
    """The items read, and one message per part skipped (a note without a title, a
    recurring event that recurs too often to expand). A skipped part never costs the
    others: the source is still read, and the problems are reported with the run."""

    items: list[Item] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def left_out(count: int, limit: int, what: str) -> str:
    """The problem a source reports for what is past ``collect.max_items``."""
    return f"{count} more {what} left out: one poll keeps at most {limit} (collect.max_items)"
