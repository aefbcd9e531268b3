"""The archive pages every email and web version links to: one per digest
(``out/editions/<digest>/index.html``) and one for the bulletins
(``out/bulletins/index.html``), rewritten whenever an edition or bulletin is written.
"""

from __future__ import annotations

from pathlib import Path

from digest.config import DigestSettings
from digest.files import write_atomic
from digest.jobs.context import Context
from digest.jobs.forms import bulletins_folder, digest_folder
from digest.links import bulletin_links, edition_links
from digest.models import Bulletin, RunReport
from digest.render.web import ArchiveEntry, render_archive
from digest.store import editions


def write_edition_archive(ctx: Context, digest: DigestSettings, report: RunReport) -> None:
    """Rewrite ``out/editions/<digest>/index.html``, the archive every email links to."""
    with ctx.db.transaction() as connection:
        rows = editions.archive(connection, digest.id)
    entries = []
    for row in rows:
        links = edition_links(ctx.settings, digest.id, row.number)
        entries.append(ArchiveEntry(title=row.title, when=row.slot, web_url=links.web_url,
                                    pdf_url=links.pdf_url, number=row.number,
                                    items=len(row.item_keys) + row.omitted))
    archive_url = edition_links(ctx.settings, digest.id, 0).archive_url
    path = write_atomic(digest_folder(ctx.settings.out_dir, digest.id) / "index.html",
                        render_archive(ctx.settings, digest.title, archive_url, entries))
    report.output(f"archive {digest.id}", str(path))


def write_bulletin_archive(ctx: Context, shown: list[Bulletin], out_dir: Path,
                           report: RunReport) -> None:
    """``out/bulletins/index.html``: every bulletin of the folder, newest first."""
    entries = []
    for bulletin in sorted(shown, key=lambda b: (b.start_date, b.slug), reverse=True):
        links = bulletin_links(ctx.settings, bulletin.slug)
        entries.append(ArchiveEntry(title=bulletin.title, when=bulletin.start_date,
                                    web_url=links.web_url, pdf_url=links.pdf_url,
                                    end=bulletin.end_date, group=bulletin.group,
                                    place=bulletin.place))
    archive_url = bulletin_links(ctx.settings, "").archive_url
    title = ctx.settings.site.title
    path = write_atomic(bulletins_folder(out_dir) / "index.html",
                        render_archive(ctx.settings, title, archive_url, entries,
                                       bulletins=True))
    report.output("archive bulletins", str(path))
