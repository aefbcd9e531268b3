"""The one exception tree of the product.

Every failure that a user or operator can cause or fix is a ``DigestError``; the CLI is the
single place that turns one into a one-line message and an exit code, so no stage prints or
exits on its own. Third-party exceptions are translated at the boundary where they occur.

    DigestError                 exit 2 unless a subclass says otherwise
    ├── ConfigError             schedules.yaml refused (carries every problem at once)
    ├── InputError              a file or id given on the command line is wrong
    ├── SourceError             one source could not be read (exit 1: operational)
    ├── StoreError              the database refused an operation
    ├── ComposeError            an edition could not be composed
    ├── RenderError             a template or a PDF could not be rendered
    ├── PublishError            a feed could not be written
    └── DeliveryError           a message could not be handed over (exit 1: operational)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PROBLEMS_PER_KEY = 5  # then one "... and N more" line: one mistake, not a megabyte
_INDEX = re.compile(r"\[\d+\]")


class DigestError(Exception):
    """Base of every error the product reports to its user."""

    exit_code: int = 2


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a config file, located precisely enough to fix without guessing."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}"


class ConfigError(DigestError):
    """The configuration was refused; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = capped(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def capped(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """At most ``MAX_PROBLEMS_PER_KEY`` problems per key, list positions aside (a list of
    10 000 unknown themes gives five lines and "... and 9995 more"); unknown and duplicate
    keys count per mapping, since each has its own name."""
    kept: list[ConfigProblem] = []
    counts: dict[tuple[str, str], int] = {}
    first_hidden: dict[tuple[str, str], ConfigProblem] = {}
    for problem in problems:
        family = _INDEX.sub("[]", problem.key)
        message = next((stem for stem in ("unknown key", "duplicate key")
                        if problem.message.startswith(stem)), "")
        if message:
            family = family.rpartition(".")[0]
        group = (family, message)
        counts[group] = counts.get(group, 0) + 1
        if counts[group] <= MAX_PROBLEMS_PER_KEY:
            kept.append(problem)
        else:
            first_hidden.setdefault(group, problem)
    for group, problem in first_hidden.items():
        more = counts[group] - MAX_PROBLEMS_PER_KEY
        what = f"{group[1]}s" if group[1] else "problems"
        kept.append(ConfigProblem(problem.file, problem.line, problem.key,
                                  f"... and {more} more {what} like this"))
    return kept


class InputError(DigestError):
    """A file, id or value given by the user is wrong (unknown digest, unreadable bulletin...)."""


class SourceError(DigestError):
    """A source could not be fetched or parsed; other sources carry on."""

    exit_code = 1


class StoreError(DigestError):
    """The database could not be opened or refused an operation."""


class ComposeError(DigestError):
    """An edition could not be composed from the stored items."""


class RenderError(DigestError):
    """A template, MJML compilation or PDF rendering failed."""


class PublishError(DigestError):
    """A feed, OPML list or index page could not be written."""


class DeliveryError(DigestError):
    """A message could not be delivered; the outbox keeps it for a retry."""

    exit_code = 1
