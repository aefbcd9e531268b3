"""What a send job sends: an edition's variants, rendered once for all workers.

An edition's outbox is worked through by several send jobs on several workers, each
re-queued after ``workers.batch`` messages; rendering its variants for each of them would
cost more than sending. The job that made (or resumed) the edition kept them in the store
(``jobs.delivery.deliver``, ``store.edition_variants``); a worker reads them once and keeps
the last few editions' in memory. Only when rows of a variant neither holds are pending (a
retry of failed rows, variants kept by an older version) is the edition rendered here, and
kept for the others.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from digest.errors import InputError
from digest.jobs.context import Context
from digest.models import RenderedEmail, RunReport
from digest.store import deliveries, edition_variants
from digest.store.editions import EditionRow

KEPT = 4  # editions whose variants a worker keeps (a few sending at once at most)
_kept: OrderedDict[int, Mapping[str, RenderedEmail]] = OrderedDict()
_turn = threading.Lock()  # one render at a time: the same edition is rendered once


def variants_for(ctx: Context, row: EditionRow, report: RunReport) -> Mapping[str, RenderedEmail]:
    """The rendered variants an edition's pending rows need (``InputError`` when its
    bulletin file or digest is gone: the rows stay pending). Checked against the rows (a
    scan of the outbox) at a process's first send job of the edition, and again when the
    stored keys change (a new render) or ``forget_here`` asks; otherwise the kept ones."""
    with _turn:
        kept = _kept.get(row.id)
    with ctx.db.transaction() as connection:
        if kept is not None and edition_variants.keys(connection, row.id) == set(kept):
            return kept
        needed = set(deliveries.pending_variant_keys(connection, row.id))
    with _turn:
        with ctx.db.transaction() as connection:  # the store's, as another job left them
            found: Mapping[str, RenderedEmail] = edition_variants.load(connection, row.id)
        if not needed <= set(found):
            found = _render(ctx, row, report)
            with ctx.db.transaction() as connection:
                edition_variants.save(connection, row.id, found)
        _kept[row.id] = found
        _kept.move_to_end(row.id)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
        return found


def kept_here(edition_id: int) -> bool:
    """Whether this process keeps an edition's variants, so its next send job takes them
    unchecked against the rows (only the stored keys are compared)."""
    with _turn:
        return edition_id in _kept


def forget_here(edition_id: int) -> None:
    """Check an edition's variants against its rows again at its next send job in this
    process (a row needed one they lacked: ``send_outcome.MissingVariantError``)."""
    with _turn:
        _kept.pop(edition_id, None)


def forget(ctx: Context, edition_id: int) -> None:
    """An edition is sent: its variants are needed no more, here or in the store."""
    with _turn:
        _kept.pop(edition_id, None)
    with ctx.db.transaction() as connection:
        edition_variants.forget(connection, edition_id)


def _render(ctx: Context, row: EditionRow, report: RunReport) -> Mapping[str, RenderedEmail]:
    """Render here: the rare case, so the rendering libraries (Jinja, MJML, premailer, and
    with them 0.6 s of CPU per worker) are imported only then, not by every send job."""
    from digest.jobs.bulletins import bulletins
    from digest.jobs.delivery import FULL_VARIANT
    from digest.jobs.editions import prepare_stored
    from digest.jobs.prepare import left_out_lines
    from digest.links import bulletin_links
    from digest.render.email import render_bulletin_email

    if row.series.is_bulletin:
        slug = row.series.name
        for bulletin in bulletins(ctx, RunReport()):
            if bulletin.slug == slug:
                return {FULL_VARIANT: render_bulletin_email(
                    bulletin, ctx.settings, bulletin_links(ctx.settings, slug))}
        raise InputError(f"{row.label}: its bulletin file is gone; pending messages kept")
    digest = ctx.settings.digest(row.digest_id)
    if digest is None:
        raise InputError(f"{row.label}: digest no longer in the config; pending messages kept")
    _, rendered = prepare_stored(ctx, digest, row)
    report.failures.extend(left_out_lines(row.label, rendered.left_out))
    return rendered.prepared.variants
