"""One failure never costs the rest: a failing step is reported and the next ones run,
and an edition is rendered with every item that can be rendered.

``isolated`` runs one step of a job (a digest, a bulletin, the feeds) and reports its
``DigestError`` in the run's report instead of ending the job.

Text is scrubbed when collected and again when read from the store, but a renderer may
still refuse an item for a reason nobody foresaw (a new template, a new MJML release, a
character class no rule covers yet). Then the whole render is tried again item by item:
each item that fails alone is left out, with the reason, and the edition is rendered
without those items. When no single item fails (a broken template) or the edition still
cannot be rendered without them, the ``RenderError`` goes to the caller, which marks the
edition ``failed`` instead of leaving it half-made.

The search costs one render per item, and only when the edition did not render.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from digest.errors import DigestError, RenderError
from digest.models import Edition, Item, RunReport, Section

Rendered = TypeVar("Rendered")


def isolated(report: RunReport, what: str, step: Callable[[], object]) -> None:
    """Run one step; its failure is reported and the next steps still run. A file the
    step could not write (a full disk, a folder where a file goes) is such a failure too:
    what the step stored stays as it was, so the next run does the step again."""
    try:
        step()
    except (DigestError, OSError) as exc:
        report.failures.append(f"{what}: {failure_text(exc)}")


def failure_text(exc: DigestError | OSError) -> str:
    """A step's failure in one line; a file's names the file (``digest.files`` sees to it
    that a full disk's does) and says why, without Python's ``[Errno N]``."""
    if isinstance(exc, DigestError):
        return str(exc)
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot write{where}: {exc.strerror or exc}"


@dataclass(frozen=True)
class LeftOut:
    """An item that could not be rendered, and the renderer's reason."""

    item: Item
    reason: str


def alone(edition: Edition, item: Item) -> Edition:
    """The edition holding only ``item`` (in its own section), as a probe."""
    section = next((s for s in edition.sections if item in s.items), None)
    kind = section.kind if section else item.kind
    title = section.title if section else str(item.kind)
    return replace(edition, sections=(Section(kind=kind, title=title, items=(item,)),),
                   omitted=0, overflow=(), unlisted=0)


def without(edition: Edition, keys: set[str]) -> Edition:
    """The edition without the items of these keys (a section left empty is dropped)."""
    sections = tuple(replace(s, items=kept) for s in edition.sections
                     if (kept := tuple(i for i in s.items if i.key not in keys)))
    return replace(edition, sections=sections,
                   overflow=tuple(i for i in edition.overflow if i.key not in keys))


def render_leaving_out(render: Callable[[Edition], Rendered], edition: Edition,
                       ) -> tuple[Rendered, Edition, list[LeftOut]]:
    """``render(edition)``; when it fails, the same without the items that fail alone.

    Returns what was rendered, the edition it was rendered from (the one to freeze) and
    the items left out. Raises the ``RenderError`` when the edition cannot be rendered
    whatever is left out, or when every item fails alone too (a template that fails on
    any item is not the items' fault, and an edition of nothing is not worth sending)."""
    try:
        return render(edition), edition, []
    except RenderError as whole:
        failure = whole
    left_out: list[LeftOut] = []
    for item in (*edition.items, *edition.overflow):
        try:
            render(alone(edition, item))
        except RenderError as exc:
            left_out.append(LeftOut(item, str(exc)))
    if not left_out:
        raise failure
    kept = without(edition, {entry.item.key for entry in left_out})
    if kept.is_empty:  # every item fails alone: the template's fault, most likely
        raise failure
    return render(kept), kept, left_out
