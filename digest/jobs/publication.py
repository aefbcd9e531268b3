"""What of a digest's edition is public: its forms under ``out/editions/<digest>/<n>/``
(served by ``digest serve``) and its line in the digest's archive page.

Nothing unapproved is published. A draft (``approval: true``) is shown to its coordinators
by the console, which renders it itself (``jobs.console_preview``); its forms are written
only when it goes out: by the run that sends it once approved, or by ``digest send``. A
draft that never goes out (superseded, cancelled) leaves nothing public, and an edition
cancelled before its first message is withdrawn. The archive page lists only what went
out (``store.editions.archive``).
"""

from __future__ import annotations

import shutil
from dataclasses import replace

from digest.config import DigestSettings
from digest.identifiers import VariantKey
from digest.jobs.archives import write_edition_archive
from digest.jobs.context import Context
from digest.jobs.curated import with_overflow
from digest.jobs.forms import RenderedForms, edition_folder, web_version_paths, write_forms
from digest.jobs.prepare import render_edition, web_versions
from digest.links import web_language_folder
from digest.models import Edition, RunReport
from digest.store import deliveries, editions
from digest.store.editions import EditionRow

PUBLIC = (editions.APPROVED, editions.SENDING, editions.PAUSED, editions.SENT)
"""The statuses of an edition that goes (or went) out: only these have public forms."""


def is_public(row: EditionRow) -> bool:
    """Whether the edition may be read on the web (it goes or went out to its members)."""
    return row.status in PUBLIC


def publish_edition(ctx: Context, digest: DigestSettings, row: EditionRow, edition: Edition,
                    report: RunReport, forms: RenderedForms | None = None) -> None:
    """Write a public edition's forms (``forms`` as composed, else rendered from the stored
    ``edition`` with what ``max_items`` cut listed again, in the site's language and each
    its planned variants read), unless written already."""
    if not is_public(row):
        raise ValueError(f"{row.label} is {row.status}: not published")
    folder = edition_folder(ctx.settings.out_dir, digest.id, row.number)
    if forms is None:
        with ctx.db.transaction() as connection:
            keys = [VariantKey.parse(key) for key in deliveries.variant_keys(connection, row.id)]
        languages = {f for key in keys
                     if (f := web_language_folder(ctx.settings, key.language)) is not None}
        if all(path.exists() for path in web_version_paths(folder, languages)):
            return  # written when it was composed or first sent: keep it
        full = with_overflow(ctx, digest, row, edition)
        forms = replace(render_edition(ctx, full, ()).forms,
                        web_versions=web_versions(ctx, full, languages))
    for path in write_forms(folder, f"{digest.id}-{row.number}", forms, ctx.settings):
        report.output(f"edition {row.label}", str(path))


def withdraw_edition(ctx: Context, row: EditionRow, report: RunReport) -> None:
    """Remove what an edition that does not go out has under ``out/`` (written by an
    earlier version, or before a cancel) and rewrite its digest's archive page."""
    folder = edition_folder(ctx.settings.out_dir, row.digest_id, row.number)
    if folder.is_dir() and not folder.is_symlink():
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            report.failures.append(f"{row.label}: could not withdraw {folder}: "
                                   f"{exc.strerror or exc}")
        else:
            report.output(f"edition {row.label} withdrawn", str(folder))
    digest = ctx.settings.digest(row.digest_id)
    if digest is not None:
        write_edition_archive(ctx, digest, report)
