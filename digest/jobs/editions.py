"""A digest's slot, start to end: compose the edition, render it, freeze it and plan its
deliveries in one transaction, write its forms, deliver it; and resume what a stop, a
failure or an approval left unfinished.

An edition is unique per (digest, slot), so a restart, a second process or a manual run
never makes a second one; one that cannot be rendered is frozen as ``failed`` with the
reason, and rendered again by the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial

from sqlalchemy import Connection

from digest import compose
from digest.config import DigestSettings
from digest.cron import last_slot, make_trigger
from digest.errors import RenderError
from digest.identifiers import VariantKey
from digest.jobs.archives import write_edition_archive
from digest.jobs.bulletins import RenderedBulletins
from digest.jobs.context import Context
from digest.jobs.curated import curated
from digest.jobs.delivery import FULL_VARIANT, SENDABLE, deliver, send_test
from digest.jobs.isolation import LeftOut, isolated
from digest.jobs.prepare import Prepared, Rendered, left_out_lines, prepare, unpublished_email
from digest.jobs.publication import is_public, publish_edition, withdraw_edition
from digest.links import console_edition_links
from digest.mail.transports import Transport
from digest.models import Edition, RunReport
from digest.store import audience, curation, deliveries, editions, items
from digest.store.editions import EditionRow


def run_digest(ctx: Context, digest: DigestSettings, report: RunReport,
               transport: Transport, slot: datetime | None = None) -> None:
    """Make the edition of a slot (default: the current one) once, write its forms, send it.

    A digest with ``approval: true`` stops at a draft and mails its coordinators a preview.
    """
    slot = slot or current_slot(ctx, digest)
    if slot is None:
        return
    with ctx.db.transaction() as connection:
        row = editions.find(connection, digest.id, slot)
        members = audience.audience(connection, digest.id)  # groups, not a list of members
    if row is not None:
        return  # made by an earlier run: resumed by resume_unfinished when still sending
    edition = next_edition(ctx, digest, slot)
    rendered, failure = _render_new(ctx, edition, members)
    if rendered is not None:
        edition = rendered.edition  # without the items that could not be rendered
    row = _store_edition(ctx, digest, edition, members, failure,
                         rendered.left_out if rendered else ())
    if row is None:
        return  # another process made this slot's edition in the meantime
    if row.status == editions.SKIPPED:
        report.editions.append(f"{digest.id}: nothing new for {slot.isoformat()}, skipped")
        return
    if failure is not None or rendered is None:
        report.failures.append(f"{row.label}: {failed_text(row, failure or 'not rendered')}")
        return
    report.failures.extend(left_out_lines(row.label, rendered.left_out))
    deliver_edition(ctx, digest, row, report, transport, rendered)
    if row.status == editions.DRAFT:
        _preview_draft(ctx, digest, row, rendered.edition, report, transport)


def _render_new(ctx: Context, edition: Edition,
                members: audience.Audience) -> tuple[Rendered | None, str | None]:
    """Render a new edition's variants before anything is frozen or planned: the rendered
    forms, or why it cannot be rendered at all (an empty edition renders nothing)."""
    if edition.is_empty:
        return None, None
    language = ctx.settings.site.language
    try:
        return prepare(ctx, edition, {compose.member_variant_key(group.member, language)
                                      for group in members.groups}), None
    except RenderError as exc:
        return None, str(exc)


def _preview_draft(ctx: Context, digest: DigestSettings, row: EditionRow, edition: Edition,
                   report: RunReport, transport: Transport) -> None:
    """A draft waits for ``digest approve``; its coordinators get a [TEST] copy meanwhile,
    whose web links go to the draft's console page (nothing of it is public yet)."""
    report.editions.append(f"{row.label}: draft of {len(edition.items)} items, waiting for "
                           f"`digest approve {row.label}` (console: "
                           f"{console_edition_links(ctx.settings, digest.id, row.number).web_url})")
    if not digest.coordinators:
        return
    email = unpublished_email(ctx, edition)
    if email is None:
        return
    for coordinator in digest.coordinators:
        address = coordinator.email
        isolated(report, f"{row.label} preview to {address}", partial(
            send_test, ctx, row, email, address, transport))


def deliver_edition(ctx: Context, digest: DigestSettings, row: EditionRow, report: RunReport,
                    transport: Transport, rendered: Rendered | None = None) -> Prepared:
    """Publish a stored edition that goes out and send its pending rows: a new one
    (``rendered`` already) or a resumed, approved or failed one (rendered again here;
    ``RenderError`` when it cannot be, the edition then marked failed). A draft publishes
    nothing: its coordinators see it in the console (``jobs.publication``)."""
    fresh = rendered is not None
    if rendered is None:
        row, rendered = prepare_stored(ctx, digest, row)
        report.failures.extend(left_out_lines(row.label, rendered.left_out))
    edition, prepared = rendered.edition, rendered.prepared
    if not is_public(row):
        withdraw_edition(ctx, row, report)
        return prepared
    # A new edition's forms list the items cut by max_items; a resumed or approved one is
    # rebuilt from its kept items, so its forms are written once, with them listed again.
    publish_edition(ctx, digest, row, edition, report, prepared.forms if fresh else None)
    try:
        if row.status in SENDABLE:
            report.editions.append(f"{row.label}: {len(edition.items)} items, "
                                   f"{len(prepared.variants)} variants")
            deliver(ctx, row, prepared.variants, transport, report)
    finally:
        write_edition_archive(ctx, digest, report)
    return prepared


def resume_unfinished(ctx: Context, report: RunReport, transport: Transport,
                      rendered: RenderedBulletins) -> None:
    """Send what earlier runs left pending (a stop half-way, an approval since)."""
    with ctx.db.transaction() as connection:
        unfinished = editions.unfinished(connection)
    for row in unfinished:
        if row.series.is_bulletin:
            found = rendered.get(row.series.name)
            if found is None:
                report.failures.append(f"{row.label}: its bulletin file is gone; "
                                       "pending messages kept")
                continue
            isolated(report, row.label, partial(
                deliver, ctx, row, {FULL_VARIANT: found.forms.email}, transport, report))
            continue
        digest = ctx.settings.digest(row.digest_id)
        if digest is None:
            report.failures.append(f"{row.label}: digest no longer in the config; "
                                   "pending messages kept")
            continue
        isolated(report, row.label, partial(deliver_edition, ctx, digest, row, report,
                                            transport))


def prepare_stored(ctx: Context, digest: DigestSettings, row: EditionRow,
                   revive: bool = True) -> tuple[EditionRow, Rendered]:
    """Render a stored edition again (to resume, retry or send it), leaving out items
    that cannot be rendered (and dropping them from the frozen edition).

    When it cannot be rendered, the edition is marked ``failed`` with the reason and the
    ``RenderError`` raised; a ``failed`` edition that renders now goes back to sending (a
    draft with ``approval: true``) unless ``revive`` is False (a test copy)."""
    edition = stored_edition(ctx, digest, row)
    with ctx.db.transaction() as connection:
        keys = [VariantKey.parse(key)
                for key in deliveries.pending_variant_keys(connection, row.id)]
    try:
        rendered = prepare(ctx, edition, keys)
    except RenderError as exc:
        with ctx.db.transaction() as connection:
            editions.mark_failed(connection, row.id, str(exc), ctx.clock.now())
        raise RenderError(failed_text(row, str(exc))) from exc
    if rendered.left_out:
        with ctx.db.transaction() as connection:
            _record_left_out(connection, row, rendered.left_out, ctx.clock.now())
            editions.set_item_keys(connection, row.id, [i.key for i in rendered.edition.items])
    if row.status == editions.FAILED and revive:
        status = editions.DRAFT if digest.approval else editions.SENDING
        with ctx.db.transaction() as connection:
            editions.set_status(connection, row.id, status)
            editions.clear_failure(connection, row.id)
        row = replace(row, status=status)
    return row, rendered


def next_edition(ctx: Context, digest: DigestSettings, slot: datetime) -> Edition:
    """Compose (without storing) what the digest's edition for ``slot`` would hold now."""
    now = ctx.clock.now()
    cursor = _cursor(ctx, digest)
    with ctx.db.transaction() as connection:
        number = editions.next_number(connection, digest.id)
        candidates = items.items_seen_since(connection, cursor, now, digest.kinds)
        left_out = curation.omitted_keys(connection, digest.id)  # by a coordinator, ever
        return compose.compose_edition(digest, candidates, cursor=cursor, slot=slot, now=now,
                                       number=number, zone=ctx.settings.site.zone,
                                       exclude=left_out)


def stored_edition(ctx: Context, digest: DigestSettings, row: EditionRow) -> Edition:
    """Rebuild a frozen edition from its row, as its coordinators curated it (pins, note):
    to resume sending after a stop, to send a draft once approved, to preview it."""
    with ctx.db.transaction() as connection:
        frozen = items.items_by_keys(connection, row.item_keys)
        chosen = curation.curation(connection, row.id)
    return curated(compose.edition_from_items(
        digest, frozen, number=row.number, slot=row.slot, period_start=row.period_start,
        period_end=row.period_end, omitted=row.omitted, zone=ctx.settings.site.zone), chosen)


def current_slot(ctx: Context, digest: DigestSettings) -> datetime | None:
    """The digest's latest slot at the context's clock (None before its first)."""
    trigger = make_trigger(digest.cron, ctx.settings.site.zone)
    return last_slot(trigger, ctx.clock.now())


def failed_text(row: EditionRow, reason: str) -> str:
    """How a run summary says an edition could not be rendered, and what to do."""
    return (f"cannot be rendered, nothing sent: {reason} (marked failed; after a fix the "
            f"next run, or `digest send {row.label}`, tries again)")


def _cursor(ctx: Context, digest: DigestSettings) -> datetime | None:
    with ctx.db.transaction() as connection:
        previous = editions.cursor_edition(connection, digest.id)
    return previous.period_end if previous else None


def _record_left_out(connection: Connection, row: EditionRow, left_out: Sequence[LeftOut],
                     now: datetime) -> None:
    editions.record_left_out(connection, row.id, [
        (entry.item.key, entry.item.source_id, entry.reason) for entry in left_out], now)


def _store_edition(ctx: Context, digest: DigestSettings, edition: Edition,
                   members: audience.Audience, failure: str | None = None,
                   rendered_left_out: Sequence[LeftOut] = ()) -> EditionRow | None:
    """Freeze the edition and plan its deliveries in one transaction (or record a skip).

    An edition that could not be rendered (``failure``) is frozen and planned all the
    same, as ``failed`` with the reason: a later run renders it again and sends it."""
    now = ctx.clock.now()
    language = ctx.settings.site.language
    variants = compose.variants_for(edition, [g.member for g in members.groups], language)
    status = (editions.SKIPPED if edition.is_empty else
              editions.FAILED if failure is not None else
              editions.DRAFT if digest.approval else editions.SENDING)
    with ctx.db.transaction() as connection:
        row = editions.create(
            connection, digest_id=digest.id, slot=edition.slot,
            number=0 if edition.is_empty else edition.number, status=status,
            title=edition.title, period_start=edition.period_start,
            period_end=edition.period_end, item_keys=[i.key for i in edition.items],
            omitted=edition.omitted, now=now)
        if row is None:
            return row
        editions.supersede_drafts(connection, digest.id, before=edition.slot)
        if status == editions.SKIPPED:
            return row
        keys = {group: str(key) for group in members.groups
                if not variants[key := compose.member_variant_key(group.member, language)]
                .edition.is_empty}
        audience.plan(connection, row.id, members, keys, now)
        if failure is not None:
            editions.mark_failed(connection, row.id, failure, now)
        if rendered_left_out:
            _record_left_out(connection, row, rendered_left_out, now)
    return row
