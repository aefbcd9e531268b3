"""What a send job sends: an edition's variants, rendered once per worker process.

An edition's outbox is worked through by several send jobs, each re-queued after
``workers.batch`` messages; rendering its variants for each of them would cost more than
sending. So a worker keeps the last few editions' rendered variants, and renders again only
when rows of a variant it does not hold are pending (a retry of failed rows).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from digest.errors import InputError
from digest.jobs.bulletins import bulletins
from digest.jobs.context import Context
from digest.jobs.delivery import FULL_VARIANT
from digest.jobs.editions import prepare_stored
from digest.jobs.prepare import left_out_lines
from digest.links import bulletin_links
from digest.models import RenderedEmail, RunReport
from digest.render.email import render_bulletin_email
from digest.store import deliveries
from digest.store.editions import EditionRow

KEPT = 4  # editions whose variants a worker keeps (a few sending at once at most)
_kept: OrderedDict[int, Mapping[str, RenderedEmail]] = OrderedDict()
_turn = threading.Lock()  # one render at a time: the same edition is rendered once


def variants_for(ctx: Context, row: EditionRow, report: RunReport) -> Mapping[str, RenderedEmail]:
    """The rendered variants an edition's pending rows need (``InputError`` when its
    bulletin file or digest is gone: the rows stay pending)."""
    with ctx.db.transaction() as connection:
        needed = set(deliveries.pending_variant_keys(connection, row.id))
    with _turn:
        found = _kept.get(row.id)
        if found is None or not needed <= set(found):
            found = _render(ctx, row, report)
            _kept[row.id] = found
            while len(_kept) > KEPT:
                _kept.popitem(last=False)
        _kept.move_to_end(row.id)
        return found


def _render(ctx: Context, row: EditionRow, report: RunReport) -> Mapping[str, RenderedEmail]:
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
