"""The bulletins job: the bulletins folder loaded, each bulletin rendered, linted and
written once a run, and sent once to its audience when due (one edition per bulletin,
whatever its dates say later).

A bulletin that is neither due nor sent (a draft waiting for approval, one held by its lint
errors, rejected, or scheduled for later: ``jobs.bulletin_state``) is not published (no
folder under ``out/bulletins/``, not in the archive page nor in any feed), so nobody reads
it before its members do; the run summary says why, with its lint errors at their lines.
Only a preview into a folder ``digest serve`` does not publish (``digest build --out DIR``,
``digest preview``) shows it.

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
from digest.errors import DigestError, InputError
from digest.identifiers import EditionSeries
from digest.jobs.archives import write_bulletin_archive
from digest.jobs.bulletin_state import (
    WAITING_FOR_REVIEW,
    BulletinState,
    BulletinStatus,
    bulletin_status,
)
from digest.jobs.context import Context
from digest.jobs.delivery import FULL_VARIANT, SENDABLE, deliver
from digest.jobs.forms import RenderedForms, bulletin_folder, write_forms
from digest.jobs.isolation import failure_text, isolated
from digest.links import bulletin_links
from digest.mail.transports import Transport
from digest.models import Bulletin, RenderedEmail, RunReport
from digest.publish import BulletinEntry
from digest.render.email import render_bulletin_email
from digest.render.pdf import render_bulletin_pdf
from digest.render.web import render_bulletin_web
from digest.store import audience as planning
from digest.store import editions, items


class RenderedBulletin(NamedTuple):
    """A bulletin of the folder that rendered this run, with its forms."""

    bulletin: Bulletin
    forms: RenderedForms
    status: BulletinStatus

    @property
    def held(self) -> bool:
        """Neither due nor sent: rendered for a coordinator's preview only, never published."""
        return not self.status.published


RenderedBulletins = dict[str, RenderedBulletin]
"""Every bulletin of the folder that rendered this run, by slug."""


def render_and_write_all(ctx: Context, report: RunReport, out_dir: Path, *,
                         preview_held: bool = False) -> RenderedBulletins:
    """Render every bulletin once per run, write its forms and the bulletins' archive page;
    a broken one is reported and skipped. A held bulletin is left out (and its folder, left
    by an earlier run, withdrawn) unless ``preview_held``, for a folder nobody is served."""
    rendered: RenderedBulletins = {}
    for bulletin in bulletins(ctx, report):
        try:
            email = render_bulletin_email(bulletin, ctx.settings,
                                          bulletin_links(ctx.settings, bulletin.slug))
            status = bulletin_status(ctx, bulletin, email)
            if not status.published:
                withhold(ctx, status, out_dir, report, withdraw=not preview_held)
                if not preview_held:
                    continue
            forms = render_bulletin(ctx, bulletin, email)
            write_bulletin(ctx, bulletin, forms, out_dir, report)
        except (DigestError, OSError) as exc:  # one bulletin's file costs no other
            report.failures.append(f"bulletin {bulletin.slug}: {failure_text(exc)}")
            continue
        rendered[bulletin.slug] = RenderedBulletin(bulletin, forms, status)
    # Written even with none rendered: every page links to it, and no earlier page may
    # still list a bulletin that waits.
    if ctx.settings.bulletins is not None or rendered:
        isolated(report, "bulletins archive",
                 partial(write_bulletin_archive, ctx, [r.bulletin for r in rendered.values()],
                         out_dir, report))
    return rendered


def send_due(ctx: Context, rendered: RenderedBulletins, report: RunReport,
             transport: Transport) -> None:
    """Send each due bulletin once (a sent one's rest is resumed with the unfinished
    editions); one failing is reported and the others go out."""
    for bulletin, forms, status in rendered.values():
        if status.state == BulletinState.DUE:
            isolated(report, f"bulletin {bulletin.slug}",
                     partial(run_bulletin, ctx, bulletin, forms, report, transport, status))


def run_bulletin(ctx: Context, bulletin: Bulletin, forms: RenderedForms, report: RunReport,
                 transport: Transport, status: BulletinStatus) -> None:
    """Send a due bulletin once to its audience: the members of it who follow one of its
    themes or every theme (all of them when it names none)."""
    audience = ctx.settings.bulletins.audience if ctx.settings.bulletins else None
    now = ctx.clock.now()
    if audience is None or status.state != BulletinState.DUE:
        return
    digest_id = str(EditionSeries.of_bulletin(bulletin.slug))
    slot = bulletin_slot(ctx, bulletin, status.send_at)
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
            members = planning.audience(connection, audience)  # groups, not every member
            planning.plan(connection, row.id, members, {
                group: FULL_VARIANT for group in members.groups
                if group.member.follows(bulletin.themes)}, now)
    if row.status in SENDABLE:
        report.editions.append(f"{row.label}: bulletin {bulletin.title!r}")
        deliver(ctx, row, {FULL_VARIANT: forms.email}, transport, report)


def withhold(ctx: Context, status: BulletinStatus, out_dir: Path, report: RunReport, *,
             withdraw: bool = True) -> None:
    """Say why a bulletin waits (its lint errors at their lines), and withdraw the folder
    an earlier run (or an earlier approval) published for it, so it is not served before
    its time."""
    report.notes.append(f"{status.target}: {status.why(ctx)}")
    report.notes.extend(f"  {problem}" for problem in status.errors)
    if status.state in WAITING_FOR_REVIEW:
        report.to_review.append(status.slug)
    folder = bulletin_folder(out_dir, status.slug)
    if not withdraw:
        return
    if folder.is_dir() and not folder.is_symlink():
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            report.failures.append(f"bulletin {status.slug}: could not withdraw {folder}: "
                                   f"{exc.strerror or exc}")
            return
        report.output(f"bulletin {status.slug} withdrawn", str(folder))


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


def render_bulletin(ctx: Context, bulletin: Bulletin,
                    email: RenderedEmail | None = None) -> RenderedForms:
    """The bulletin's email (unless already rendered), web version and PDF."""
    links = bulletin_links(ctx.settings, bulletin.slug)
    return RenderedForms(email=email or render_bulletin_email(bulletin, ctx.settings, links),
                         web_html=render_bulletin_web(bulletin, ctx.settings, links),
                         pdf=render_bulletin_pdf(bulletin, ctx.settings, links))


def write_bulletin(ctx: Context, bulletin: Bulletin, forms: RenderedForms, out_dir: Path,
                   report: RunReport) -> None:
    """Write the bulletin's forms to ``out/bulletins/<slug>/``."""
    folder = bulletin_folder(out_dir, bulletin.slug)
    for path in write_forms(folder, bulletin.slug, forms, ctx.settings):
        report.output(f"bulletin {bulletin.slug}", str(path))


def bulletin_slot(ctx: Context, bulletin: Bulletin, send_at: datetime | None) -> datetime:
    """A bulletin's one slot: its ``send_at`` (a coordinator's schedule, else the file's),
    else the start of its date in site time."""
    return send_at or datetime.combine(bulletin.start_date, time.min,
                                       tzinfo=ctx.settings.site.zone)


def feed_entries(ctx: Context, rendered: RenderedBulletins) -> list[BulletinEntry]:
    """The rendered bulletins as the feeds list them (never a held one: feeds are public)."""
    return [bulletin_entry(ctx, r) for r in rendered.values() if not r.held]


def bulletin_entry(ctx: Context, rendered: RenderedBulletin) -> BulletinEntry:
    """One bulletin as the feeds list it: its links, its PDF's size, when it was published."""
    bulletin = rendered.bulletin
    links = bulletin_links(ctx.settings, bulletin.slug)
    return BulletinEntry(bulletin=bulletin, web_url=links.web_url, pdf_url=links.pdf_url,
                         pdf_size=len(rendered.forms.pdf),
                         published=bulletin_slot(ctx, bulletin, rendered.status.send_at))
