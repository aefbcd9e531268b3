"""The problem list of a bulletin or an edition, as ``digest preview`` prints it and the
coordinators' console shows it: one place, so the two never disagree on what holds a
bulletin or what a coordinator must fix.

A bulletin's links are checked in its Markdown (``FILE:LINE`` in the ``.md`` file, where the
coordinator fixes them); an edition's in its rendered email (``LABEL email.html:LINE``).
"""

from __future__ import annotations

from collections.abc import Sequence

from digest.config import Settings
from digest.jobs.images import image_problems
from digest.jobs.isolation import LeftOut
from digest.models import Bulletin, RenderedEmail
from digest.render.lint import Problem, lint_bulletin, lint_email


def bulletin_problems(bulletin: Bulletin, email: RenderedEmail,
                      settings: Settings) -> list[Problem]:
    """A bulletin's problems: its Markdown's (by line), its images that cannot be fetched
    (``jobs.images``, bounded and kept a while), then its rendered email's."""
    return (lint_bulletin(bulletin) + image_problems(bulletin, settings)
            + lint_email(email, f"{bulletin.slug} email.html", check_links=False))


def edition_problems(digest_id: str, number: int, email: RenderedEmail,
                     left_out: Sequence[LeftOut], *, empty: bool = False) -> list[Problem]:
    """An edition's problems: its rendered email's, the items that cannot be rendered,
    and (``empty``) that it would not be sent at all."""
    problems = lint_email(email, f"{digest_id} #{number} email.html")
    problems += [Problem("error", f"item {entry.item.key} (source {entry.item.source_id!r})",
                         f"cannot be rendered, left out: {entry.reason}")
                 for entry in left_out]
    if empty:
        problems.insert(0, Problem("warning", digest_id,
                                   "the next edition is empty and would not be sent "
                                   "(run `digest collect` first?)"))
    return problems
