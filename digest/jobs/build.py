"""Rendering without storing or sending: ``digest build`` (every digest's next edition and
every bulletin, with a sample message each, and the feeds) and the edition ``digest
preview`` lints.

Nothing here freezes an edition or plans a delivery, so a build can run at any time
beside the service. A bulletin that waits (a draft, held by its lint errors, or until its
``send_at``: ``jobs.bulletin_state``) is rendered only into a folder ``digest serve`` does
not publish (``build --out DIR``), for the coordinator to see it; built into ``out/`` it
stays unpublished as in a run, and it is never in the feeds. The same holds for the next
edition of a digest with ``approval: true``: nothing unapproved is published.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from digest.config import DigestSettings
from digest.files import write_atomic
from digest.identifiers import EditionSeries
from digest.jobs.bulletins import render_and_write_all
from digest.jobs.collect import ensure_subscribers
from digest.jobs.context import Context
from digest.jobs.editions import current_slot, next_edition
from digest.jobs.feeds import publish
from digest.jobs.forms import (
    bulletin_folder,
    bulletins_folder,
    edition_folder,
    is_published,
    sample_message,
    write_forms,
)
from digest.jobs.isolation import isolated
from digest.jobs.prepare import Rendered, left_out_lines, prepare
from digest.models import Edition, RunReport


def build(ctx: Context, out_dir: Path) -> RunReport:
    """Render, without sending or storing an edition, every digest's next edition and
    every bulletin (a held one only into a folder nobody is served), plus a sample message
    of each; publish the feeds."""
    report = RunReport()
    ensure_subscribers(ctx, report)
    now = ctx.clock.now()
    preview_held = not is_published(ctx.settings, bulletins_folder(out_dir))
    rendered = render_and_write_all(ctx, report, out_dir, preview_held=preview_held)
    for slug, found in rendered.items():
        path = bulletin_folder(out_dir, slug) / "sample.eml"
        name = str(EditionSeries.of_bulletin(slug))
        write_atomic(path, sample_message(ctx, found.forms.email, name, now))
        report.output(f"bulletin {slug}", str(path))
    isolated(report, "feeds", partial(publish, ctx, report, rendered))
    for digest in ctx.settings.digests:
        isolated(report, f"digest {digest.id}",
                 partial(_build_digest, ctx, digest, out_dir, report))
    return report


def upcoming_edition(ctx: Context, digest: DigestSettings) -> Edition:
    """The digest's edition for its current slot (or now, before its first), as it would
    be composed at this moment."""
    return next_edition(ctx, digest, current_slot(ctx, digest) or ctx.clock.now())


def preview_edition(ctx: Context, digest: DigestSettings) -> Rendered:
    """The digest's upcoming edition rendered in full, not stored (``digest preview``)."""
    return prepare(ctx, upcoming_edition(ctx, digest), [])


def _build_digest(ctx: Context, digest: DigestSettings, out_dir: Path,
                  report: RunReport) -> None:
    edition = upcoming_edition(ctx, digest)
    if edition.is_empty:
        report.editions.append(f"{digest.id}: nothing new, no edition")
        return
    label = EditionSeries.of_digest(digest.id).label(edition.number)
    rendered = prepare(ctx, edition, [])
    report.failures.extend(left_out_lines(label, rendered.left_out))
    prepared, edition = rendered.prepared, rendered.edition
    folder = edition_folder(out_dir, digest.id, edition.number)
    if digest.approval and is_published(ctx.settings, folder):
        report.editions.append(f"{label}: {len(edition.items)} items, not written: "
                               "approval is on and this folder is served (build it with "
                               "--out DIR, or see the draft in the console)")
        return
    for written in write_forms(folder, f"{digest.id}-{edition.number}", prepared.forms,
                               ctx.settings):
        report.output(f"edition {label}", str(written))
    path = write_atomic(folder / "sample.eml", sample_message(
        ctx, prepared.forms.email, digest.id, ctx.clock.now()))
    report.output(f"edition {label}", str(path))
    report.editions.append(f"{label}: {len(edition.items)} items (preview, not stored)")
