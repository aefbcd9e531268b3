"""The bulletins job: the bulletins folder loaded, each bulletin rendered and written once a
run, and sent once to its audience when due (one edition per bulletin, whatever its dates
say later).

A bulletin whose ``send_at`` has not come, and that was never sent, is held: a run does not
publish it (no folder under ``out/bulletins/``, not in the archive page nor in any feed), so
nobody reads it before its members do; only a preview into a folder ``digest serve`` does
not publish (``digest build --out DIR``, ``digest preview``) shows it.

A broken bulletin file is reported and the others carry on; the bulletins' archive page is
rewritten from the ones that rendered.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime, time
from functools import partial
from pathlib import Path
from typing import NamedTuple

from digest import compose
from digest.bulletins import load_bulletin, load_bulletins
from digest.dates import console_stamp
from digest.errors import DigestError, InputError
from digest.identifiers import EditionSeries
from digest.jobs.archives import write_bulletin_archive
from digest.jobs.context import Context
from digest.jobs.delivery import FULL_VARIANT, SENDABLE, deliver
from digest.jobs.forms import RenderedForms, bulletin_folder, bulletins_folder, write_forms
from digest.jobs.isolation import isolated
from digest.links import bulletin_links
from digest.mail.transports import Transport
from digest.models import Bulletin, RunReport
from digest.publish import BulletinEntry
from digest.render.email import render_bulletin_email
from digest.render.pdf import render_bulletin_pdf
from digest.render.web import render_bulletin_web
from digest.store import deliveries, editions, items, subscribers


class RenderedBulletin(NamedTuple):
    """A bulletin of the folder that rendered this run, with its forms."""

    bulletin: Bulletin
    forms: RenderedForms
    held: bool = False
    """Not due and never sent: rendered for a coordinator's preview only, never published."""


RenderedBulletins = dict[str, RenderedBulletin]
"""Every bulletin of the folder that rendered this run, by slug."""


def render_and_write_all(ctx: Context, report: RunReport, out_dir: Path, *,
                         preview_held: bool = False) -> RenderedBulletins:
    """Render every bulletin once per run, write its forms and the bulletins' archive page;
    a broken one is reported and skipped. A held bulletin is left out (and its folder, left
    by an earlier run, withdrawn) unless ``preview_held``, for a folder nobody is served."""
    rendered: RenderedBulletins = {}
    for bulletin in bulletins(ctx, report):
        held = is_held(ctx, bulletin)
        if held and not preview_held:
            withhold(ctx, bulletin, out_dir, report)
            continue
        try:
            forms = render_bulletin(ctx, bulletin)
            write_bulletin(ctx, bulletin, forms, out_dir, report)
        except DigestError as exc:
            report.failures.append(f"bulletin {bulletin.slug}: {exc}")
            continue
        rendered[bulletin.slug] = RenderedBulletin(bulletin, forms, held)
    # Rewritten even with none rendered, so no earlier page still lists a held bulletin.
    if rendered or (bulletins_folder(out_dir) / "index.html").is_file():
        isolated(report, "bulletins archive",
                 partial(write_bulletin_archive, ctx, [r.bulletin for r in rendered.values()],
                         out_dir, report))
    return rendered


def send_due(ctx: Context, rendered: RenderedBulletins, report: RunReport,
             transport: Transport) -> None:
    """Send each due bulletin once; one failing is reported and the others go out."""
    for bulletin, forms, held in rendered.values():
        if not held:
            isolated(report, f"bulletin {bulletin.slug}",
                     partial(run_bulletin, ctx, bulletin, forms, report, transport))


def run_bulletin(ctx: Context, bulletin: Bulletin, forms: RenderedForms, report: RunReport,
                 transport: Transport) -> None:
    """Send a due bulletin once to its audience."""
    audience = ctx.settings.bulletins.audience if ctx.settings.bulletins else None
    now = ctx.clock.now()
    if audience is None or not is_due(ctx, bulletin):
        return
    digest_id = str(EditionSeries.of_bulletin(bulletin.slug))
    slot = bulletin_slot(ctx, bulletin)
    with ctx.db.transaction() as connection:
        # One edition per bulletin, whatever its dates say: fixing a date after sending
        # must not send it again.
        row = editions.latest(connection, digest_id)
        if row is None:
            row = editions.create(
                connection, digest_id=digest_id, slot=slot, number=1, status=editions.SENDING,
                title=bulletin.title, period_start=None, period_end=now, item_keys=[],
                omitted=0, now=now)
            if row is None:
                return
            members = subscribers.active_for(connection, audience)
            deliveries.plan(connection, row.id,
                            [(m.id, FULL_VARIANT) for m in members if m.id is not None], now)
    if row.status in SENDABLE:
        report.editions.append(f"{row.label}: bulletin {bulletin.title!r}")
        deliver(ctx, row, {FULL_VARIANT: forms.email}, transport, report)


def is_due(ctx: Context, bulletin: Bulletin) -> bool:
    """Whether the bulletin's time has come: no ``send_at``, or one at or before now."""
    return bulletin.send_at is None or bulletin.send_at <= ctx.clock.now()


def is_held(ctx: Context, bulletin: Bulletin) -> bool:
    """Whether the bulletin is still private: not due, and never sent (one that went out
    stays published whatever its ``send_at`` says later, as its emails link to it)."""
    if is_due(ctx, bulletin):
        return False
    with ctx.db.transaction() as connection:
        return editions.latest(connection, str(EditionSeries.of_bulletin(bulletin.slug))) is None


def withhold(ctx: Context, bulletin: Bulletin, out_dir: Path, report: RunReport) -> None:
    """Say that a held bulletin waits, and withdraw the folder an earlier run (or an earlier
    ``send_at``) published for it, so it is not served before its time."""
    when = console_stamp(bulletin.send_at, ctx.settings.site.zone) if bulletin.send_at else "?"
    report.editions.append(f"{EditionSeries.of_bulletin(bulletin.slug)}: not due until "
                           f"{when}, not published")
    folder = bulletin_folder(out_dir, bulletin.slug)
    if folder.is_dir() and not folder.is_symlink():
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            report.failures.append(f"bulletin {bulletin.slug}: could not withdraw {folder}: "
                                   f"{exc.strerror or exc}")
            return
        report.output(f"bulletin {bulletin.slug} withdrawn", str(folder))


def bulletins(ctx: Context, report: RunReport) -> list[Bulletin]:
    """The configured bulletins folder, loaded (a broken file is reported, not fatal)."""
    if ctx.settings.bulletins is None:
        return []
    folder = ctx.settings.resolve(ctx.settings.bulletins.path)
    try:
        loaded = load_bulletins(folder, ctx.settings)
    except InputError as exc:
        report.failures.append(str(exc))
        return []
    report.failures.extend(loaded.problems)
    return [with_upcoming(ctx, b) for b in loaded.bulletins]


def bulletin_file(ctx: Context, path: Path) -> tuple[Bulletin, RenderedForms]:
    """One bulletin file, loaded and rendered as a run would (``digest preview``)."""
    bulletin = with_upcoming(ctx, load_bulletin(path, ctx.settings))
    return bulletin, render_bulletin(ctx, bulletin)


def with_upcoming(ctx: Context, bulletin: Bulletin) -> Bulletin:
    """Add the nearest stored events of the bulletin's themes to its meetings part."""
    if not bulletin.themes:
        return bulletin

    now = ctx.clock.now()
    with ctx.db.transaction() as connection:
        upcoming = compose.upcoming_events(items.events(connection), bulletin.themes, now,
                                           ctx.settings.site.zone)
    return replace(bulletin, upcoming=upcoming)


def render_bulletin(ctx: Context, bulletin: Bulletin) -> RenderedForms:
    """The bulletin's email, web version and PDF."""
    links = bulletin_links(ctx.settings, bulletin.slug)
    return RenderedForms(email=render_bulletin_email(bulletin, ctx.settings, links),
                         web_html=render_bulletin_web(bulletin, ctx.settings, links),
                         pdf=render_bulletin_pdf(bulletin, ctx.settings, links))


def write_bulletin(ctx: Context, bulletin: Bulletin, forms: RenderedForms, out_dir: Path,
                   report: RunReport) -> None:
    """Write the bulletin's forms to ``out/bulletins/<slug>/``."""
    folder = bulletin_folder(out_dir, bulletin.slug)
    for path in write_forms(folder, bulletin.slug, forms, ctx.settings):
        report.output(f"bulletin {bulletin.slug}", str(path))


def bulletin_slot(ctx: Context, bulletin: Bulletin) -> datetime:
    """A bulletin's one slot: its ``send_at``, else the start of its date in site time."""
    return bulletin.send_at or datetime.combine(bulletin.start_date, time.min,
                                                tzinfo=ctx.settings.site.zone)


def feed_entries(ctx: Context, rendered: RenderedBulletins) -> list[BulletinEntry]:
    """The rendered bulletins as the feeds list them (never a held one: feeds are public)."""
    return [bulletin_entry(ctx, r.bulletin, r.forms) for r in rendered.values() if not r.held]


def bulletin_entry(ctx: Context, bulletin: Bulletin, forms: RenderedForms) -> BulletinEntry:
    """One bulletin as the feeds list it: its links, its PDF's size, when it was published."""
    links = bulletin_links(ctx.settings, bulletin.slug)
    return BulletinEntry(bulletin=bulletin, web_url=links.web_url, pdf_url=links.pdf_url,
                         pdf_size=len(forms.pdf), published=bulletin_slot(ctx, bulletin))
