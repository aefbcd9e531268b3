"""The order of the stages, and nothing else: collect → store → compose → render → mail,
and publish.

This is the only module that knows which stage follows which. It isolates failures: one
broken source or bulletin is reported in the ``RunReport`` and the others carry on; one
refused message marks its own row and the rest are sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time
from functools import partial
from pathlib import Path

from sqlalchemy import Connection

from digest import compose
from digest.bulletins import load_bulletins
from digest.config import DigestSettings
from digest.context import Context
from digest.cron import last_slot, make_trigger
from digest.errors import DigestError, InputError, RenderError
from digest.files import write_atomic
from digest.isolation import LeftOut, render_leaving_out
from digest.links import bulletin_links, edition_links
from digest.mail.message import MessageFactory, Recipient, make_list_id, make_message_id
from digest.mail.transports import Transport
from digest.models import (
    Bulletin,
    Edition,
    RenderedEmail,
    RunReport,
    SourceReport,
    Subscriber,
)
from digest.outputs import RenderedForms, preview_values, write_forms
from digest.publish import BulletinEntry, publish_feeds
from digest.render.email import render_bulletin_email, render_edition_email
from digest.render.pdf import render_bulletin_pdf, render_edition_pdf
from digest.render.web import (
    ArchiveEntry,
    render_archive,
    render_bulletin_web,
    render_edition_web,
    render_feeds_index,
)
from digest.sending import send_pending, send_test
from digest.sources import Poll, poll_sources
from digest.store import deliveries, editions, items, sources, subscribers
from digest.store.editions import EditionRow

BULLETIN_PREFIX = "bulletin:"


# ------------------------------------------------------------------------ collect


def collect(ctx: Context, report: RunReport, only: str | None = None) -> None:
    """Poll every source (or the one with id ``only``) once, concurrently; each result is
    stored with the state its next poll needs, and a failing source is reported while the
    others go on."""
    chosen = [s for s in ctx.settings.sources if only is None or s.id == only]
    with ctx.db.transaction() as connection:
        states = sources.states(connection)
    for poll in poll_sources(chosen, ctx.settings, ctx.clock, states):
        _store_poll(ctx, poll, report)


def _store_poll(ctx: Context, poll: Poll, report: RunReport) -> None:
    """Store one source's items, health and state in one transaction; report them."""
    now = ctx.clock.now()
    counts = {"new": 0, "updated": 0, "duplicate": 0}
    with ctx.db.transaction() as connection:
        for outcome in items.upsert_items(connection, poll.items or (), now):
            counts[outcome] += 1
        if not poll.skipped:
            sources.record(connection, poll.source_id, poll.state.location, now, poll.error,
                           None if poll.items is None else len(poll.items))
        sources.save_state(connection, poll.source_id, poll.state, now)
    report.sources.append(SourceReport(poll.source_id, new=counts["new"],
                                       updated=counts["updated"],
                                       duplicate=counts["duplicate"], error=poll.error,
                                       note=poll.note))
    report.failures.extend(poll.problems)


def ensure_subscribers(ctx: Context, report: RunReport) -> None:
    """Load the configured CSV when the store has no member yet. Bad rows are reported and
    the rest imported; a file that cannot be used at all is reported and the run goes on.
    Two runs starting together on an empty store may both import: adding is idempotent."""
    path = ctx.settings.subscribers.import_
    if not path:
        return
    try:
        with ctx.db.transaction() as connection:
            if subscribers.count(connection):
                return
            result = subscribers.import_csv(
                connection, ctx.settings.resolve(path), ctx.clock.now(),
                ctx.settings.site.language, [d.id for d in ctx.settings.digests],
                ctx.settings.themes)
    except InputError as exc:
        report.failures.append(f"subscribers.import: {exc}")
        return
    report.failures.extend(result.problems)


# ------------------------------------------------------------------------ digests


@dataclass(frozen=True)
class Prepared:
    """An edition rendered once per variant, plus its full forms for the archive."""

    forms: RenderedForms
    variants: dict[str, RenderedEmail]


def render_edition(ctx: Context, edition: Edition, variant_keys: Iterable[str]) -> Prepared:
    """Render the full edition's forms, then each named non-empty variant's email once."""
    links = edition_links(ctx.settings, edition.digest_id, edition.number)
    email = render_edition_email(edition, ctx.settings, links)
    forms = RenderedForms(email=email,
                          web_html=render_edition_web(edition, ctx.settings, links),
                          pdf=render_edition_pdf(edition, ctx.settings, links))
    variants: dict[str, RenderedEmail] = {}
    for key in variant_keys:
        language = compose.language_of_key(key)  # None: the site's language
        variant = compose.variant_of(edition, compose.themes_of_key(key), language)
        if variant.key in variants or variant.edition.is_empty:
            continue
        variants[variant.key] = (email if variant.themes is None and language is None else
                                 render_edition_email(variant.edition, ctx.settings, links,
                                                      language))
    return Prepared(forms=forms, variants=variants)


def _checked(ctx: Context, variant_keys: Iterable[str], edition: Edition) -> Prepared:
    """``render_edition``, and one message made from each email: everything sending will
    do with the rendered text, done before any delivery row waits on it."""
    prepared = render_edition(ctx, edition, variant_keys)
    now = ctx.clock.now()
    emails = {id(email): email for email in (prepared.forms.email, *prepared.variants.values())}
    for email in emails.values():
        try:
            sample_message(ctx, email, edition.digest_id, now)
        except (UnicodeError, ValueError) as exc:
            raise RenderError(f"the message could not be made: {exc}") from exc
    return prepared


@dataclass(frozen=True)
class Rendered:
    """An edition rendered, the edition it was rendered from, and the items left out."""

    prepared: Prepared
    edition: Edition
    left_out: list[LeftOut]


def prepare(ctx: Context, edition: Edition, variant_keys: Iterable[str]) -> Rendered:
    """Render (and check) an edition, leaving out each item that cannot be rendered;
    ``RenderError`` when the edition cannot be rendered at all."""
    prepared, kept, left_out = render_leaving_out(
        partial(_checked, ctx, tuple(variant_keys)), edition)
    return Rendered(prepared=prepared, edition=kept, left_out=left_out)


def failed_text(row: EditionRow, reason: str) -> str:
    """How a run summary says an edition could not be rendered, and what to do."""
    return (f"cannot be rendered, nothing sent: {reason} (marked failed; after a fix the "
            f"next run, or `digest send {row.label}`, tries again)")


def left_out_lines(label: str, left_out: list[LeftOut]) -> list[str]:
    """One run-summary line per item left out of an edition: its key, source and why."""
    return [f"{label}: left out item {entry.item.key} from source "
            f"{entry.item.source_id!r}: {entry.reason}" for entry in left_out]


def _record_left_out(connection: Connection, row: EditionRow, left_out: list[LeftOut],
                     now: datetime) -> None:
    editions.record_left_out(connection, row.id, [
        (entry.item.key, entry.item.source_id, entry.reason) for entry in left_out], now)


def prepare_stored(ctx: Context, digest: DigestSettings, row: EditionRow,
                   revive: bool = True) -> tuple[EditionRow, Rendered]:
    """Render a stored edition again (to resume, retry or send it), leaving out items
    that cannot be rendered (and dropping them from the frozen edition).

    When it cannot be rendered, the edition is marked ``failed`` with the reason and the
    ``RenderError`` raised; a ``failed`` edition that renders now goes back to sending (a
    draft with ``approval: true``) unless ``revive`` is False (a test copy)."""
    edition = stored_edition(ctx, digest, row)
    with ctx.db.transaction() as connection:
        keys = deliveries.pending_variant_keys(connection, row.id)
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


def _cursor(ctx: Context, digest: DigestSettings) -> datetime | None:
    with ctx.db.transaction() as connection:
        previous = editions.cursor_edition(connection, digest.id)
    return previous.period_end if previous else None


def next_edition(ctx: Context, digest: DigestSettings, slot: datetime) -> Edition:
    """Compose (without storing) what the digest's edition for ``slot`` would hold now."""
    now = ctx.clock.now()
    cursor = _cursor(ctx, digest)
    with ctx.db.transaction() as connection:
        number = editions.next_number(connection, digest.id)
        candidates = items.items_seen_since(connection, cursor, now, digest.kinds)
        return compose.compose_edition(digest, candidates, cursor=cursor, slot=slot, now=now,
                                       number=number, zone=ctx.settings.site.zone)


def stored_edition(ctx: Context, digest: DigestSettings, row: EditionRow) -> Edition:
    """Rebuild a frozen edition from its row, to resume sending after a stop."""
    with ctx.db.transaction() as connection:
        frozen = items.items_by_keys(connection, row.item_keys)
    return compose.edition_from_items(
        digest, frozen, number=row.number, slot=row.slot, period_start=row.period_start,
        period_end=row.period_end, omitted=row.omitted, zone=ctx.settings.site.zone)


def current_slot(ctx: Context, digest: DigestSettings) -> datetime | None:
    trigger = make_trigger(digest.cron, ctx.settings.site.zone)
    return last_slot(trigger, ctx.clock.now())


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
        members = subscribers.active_for(connection, digest.id)
    if row is not None:
        return  # made by an earlier run: resumed by resume_unfinished when still sending
    edition = next_edition(ctx, digest, slot)
    rendered: Rendered | None = None
    failure: str | None = None
    if not edition.is_empty:  # rendered before anything is frozen or planned
        language = ctx.settings.site.language
        try:
            rendered = prepare(ctx, edition, {compose.member_variant_key(m, language)
                                              for m in members})
            edition = rendered.edition
        except RenderError as exc:
            failure = str(exc)
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
    prepared = deliver_edition(ctx, digest, row, report, transport, rendered)
    if row.status == editions.DRAFT:
        report.editions.append(f"{row.label}: draft of {len(edition.items)} items, waiting for "
                               f"`digest approve {row.label}`")
        for address in digest.coordinators:
            _isolated(report, f"{row.label} preview to {address}", partial(
                send_test, ctx, row, prepared.forms.email, address, transport))


def deliver_edition(ctx: Context, digest: DigestSettings, row: EditionRow, report: RunReport,
                    transport: Transport, rendered: Rendered | None = None) -> Prepared:
    """Write a stored edition's forms and send its pending rows: a new one (``rendered``
    already) or a resumed or failed one (rendered again here; ``RenderError`` when it
    cannot be, the edition then marked failed)."""
    fresh = rendered is not None
    if rendered is None:
        row, rendered = prepare_stored(ctx, digest, row)
        report.failures.extend(left_out_lines(row.label, rendered.left_out))
    edition, prepared = rendered.edition, rendered.prepared
    folder = ctx.settings.out_dir / "editions" / digest.id / str(edition.number)
    # A resumed edition is rebuilt from its kept items only: keep the web version and PDF
    # written when it was composed, which also list the items cut by max_items.
    if fresh or not (folder / "index.html").exists():
        for path in write_forms(folder, f"{digest.id}-{edition.number}", prepared.forms,
                                ctx.settings):
            report.output(f"edition {row.label}", str(path))
    write_edition_archive(ctx, digest, report)
    if row.status in (editions.SENDING, editions.APPROVED):
        report.editions.append(f"{row.label}: {len(edition.items)} items, "
                               f"{len(prepared.variants)} variants")
        _deliver(ctx, row, prepared.variants, transport, report)
    return prepared


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
    path = write_atomic(ctx.settings.out_dir / "editions" / digest.id / "index.html",
                        render_archive(ctx.settings, digest.title, archive_url, entries))
    report.output(f"archive {digest.id}", str(path))


def _store_edition(ctx: Context, digest: DigestSettings, edition: Edition,
                   members: list[Subscriber], failure: str | None = None,
                   rendered_left_out: Sequence[LeftOut] = ()) -> EditionRow | None:
    """Freeze the edition and plan its deliveries in one transaction (or record a skip).

    An edition that could not be rendered (``failure``) is frozen and planned all the
    same, as ``failed`` with the reason: a later run renders it again and sends it."""
    now = ctx.clock.now()
    variants = compose.variants_for(edition, members, ctx.settings.site.language)
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
        recipients = []
        for member in members:
            key = compose.member_variant_key(member, ctx.settings.site.language)
            if not variants[key].edition.is_empty and member.id is not None:
                recipients.append((member.id, key))
        deliveries.plan(connection, row.id, recipients, now)
        if failure is not None:
            editions.mark_failed(connection, row.id, failure, now)
        if rendered_left_out:
            _record_left_out(connection, row, list(rendered_left_out), now)
    return row


def _deliver(ctx: Context, row: EditionRow, variants: dict[str, RenderedEmail],
             transport: Transport, report: RunReport) -> None:
    if row.status not in (editions.SENDING, editions.APPROVED):
        return
    if row.status == editions.APPROVED:
        with ctx.db.transaction() as connection:
            editions.set_status(connection, row.id, editions.SENDING)
    outcome = send_pending(ctx, row, variants, transport)
    report.sent += outcome.sent
    if problem := outcome.problem(row.label):
        report.failures.append(problem)


# ------------------------------------------------------------------------ bulletins


def bulletin_slot(ctx: Context, bulletin: Bulletin) -> datetime:
    """A bulletin's one slot: its ``send_at``, else the start of its date in site time."""
    return bulletin.send_at or datetime.combine(bulletin.start_date, time.min,
                                                tzinfo=ctx.settings.site.zone)


def render_bulletin(ctx: Context, bulletin: Bulletin) -> RenderedForms:
    links = bulletin_links(ctx.settings, bulletin.slug)
    return RenderedForms(email=render_bulletin_email(bulletin, ctx.settings, links),
                         web_html=render_bulletin_web(bulletin, ctx.settings, links),
                         pdf=render_bulletin_pdf(bulletin, ctx.settings, links))


def with_upcoming(ctx: Context, bulletin: Bulletin) -> Bulletin:
    """Add the nearest stored events of the bulletin's themes to its meetings part."""
    if not bulletin.themes:
        return bulletin

    now = ctx.clock.now()
    with ctx.db.transaction() as connection:
        upcoming = compose.upcoming_events(items.events(connection), bulletin.themes, now,
                                           ctx.settings.site.zone)
    return replace(bulletin, upcoming=upcoming)


def run_bulletin(ctx: Context, bulletin: Bulletin, forms: RenderedForms, report: RunReport,
                 transport: Transport) -> None:
    """Send a due bulletin once to its audience."""
    audience = ctx.settings.bulletins.audience if ctx.settings.bulletins else None
    now = ctx.clock.now()
    if audience is None or (bulletin.send_at is not None and bulletin.send_at > now):
        return
    digest_id = BULLETIN_PREFIX + bulletin.slug
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
                            [(m.id, "all") for m in members if m.id is not None], now)
    if row.status in (editions.SENDING, editions.APPROVED):
        report.editions.append(f"{row.label}: bulletin {bulletin.title!r}")
        _deliver(ctx, row, {"all": forms.email}, transport, report)


def bulletin_entry(ctx: Context, bulletin: Bulletin, forms: RenderedForms) -> BulletinEntry:
    links = bulletin_links(ctx.settings, bulletin.slug)
    return BulletinEntry(bulletin=bulletin, web_url=links.web_url, pdf_url=links.pdf_url,
                         pdf_size=len(forms.pdf), published=bulletin_slot(ctx, bulletin))


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


def write_bulletin(ctx: Context, bulletin: Bulletin, forms: RenderedForms, out_dir: Path,
                   report: RunReport) -> None:
    folder = out_dir / "bulletins" / bulletin.slug
    for path in write_forms(folder, bulletin.slug, forms, ctx.settings):
        report.output(f"bulletin {bulletin.slug}", str(path))


# ------------------------------------------------------------------------ publish


def publish(ctx: Context, report: RunReport, entries: list[BulletinEntry]) -> None:
    now = ctx.clock.now()
    with ctx.db.transaction() as connection:
        stored = items.newest_items_per_feed(connection, now, ctx.settings.feeds.entries,
                                             tuple(ctx.settings.themes))
    for path in publish_feeds(stored, entries, ctx.settings, now,
                              index_page=partial(render_feeds_index, settings=ctx.settings)):
        report.output("feed", str(path))


# ------------------------------------------------------------------------ jobs


def _isolated(report: RunReport, what: str, step: Callable[[], object]) -> None:
    """Run one step; its failure is reported and the next steps still run."""
    try:
        step()
    except DigestError as exc:
        report.failures.append(f"{what}: {exc}")


def resume_unfinished(ctx: Context, report: RunReport, transport: Transport,
                      rendered: dict[str, tuple[Bulletin, RenderedForms]]) -> None:
    """Send what earlier runs left pending (a stop half-way, an approval since)."""
    with ctx.db.transaction() as connection:
        unfinished = editions.unfinished(connection)
    for row in unfinished:
        if row.digest_id.startswith(BULLETIN_PREFIX):
            found = rendered.get(row.digest_id.removeprefix(BULLETIN_PREFIX))
            if found is None:
                report.failures.append(f"{row.label}: its bulletin file is gone; "
                                       "pending messages kept")
                continue
            _isolated(report, row.label, partial(_deliver, ctx, row, {"all": found[1].email},
                                                 transport, report))
            continue
        digest = ctx.settings.digest(row.digest_id)
        if digest is None:
            report.failures.append(f"{row.label}: digest no longer in the config; "
                                   "pending messages kept")
            continue
        _isolated(report, row.label, partial(deliver_edition, ctx, digest, row, report,
                                             transport))


def housekeeping(ctx: Context, report: RunReport, transport: Transport) -> None:
    """Everything but polling and new digest editions: render bulletins, resume unfinished
    sends, send due bulletins, republish the feeds. The service runs it at ``feeds.every``."""
    rendered = _bulletin_forms(ctx, report, ctx.settings.out_dir)
    resume_unfinished(ctx, report, transport, rendered)
    for bulletin, forms in rendered.values():
        _isolated(report, f"bulletin {bulletin.slug}",
                  partial(run_bulletin, ctx, bulletin, forms, report, transport))
    _isolated(report, "feeds", lambda: publish(ctx, report, [
        bulletin_entry(ctx, b, f) for b, f in rendered.values()]))


def run_once(ctx: Context) -> RunReport:
    """The main job: collect, publish, then make and deliver every due edition and bulletin."""
    report = RunReport()
    ensure_subscribers(ctx, report)
    collect(ctx, report)
    with ctx.open_transport() as transport:
        housekeeping(ctx, report, transport)
        for digest in ctx.settings.digests:
            _isolated(report, f"digest {digest.id}",
                      partial(run_digest, ctx, digest, report, transport))
    if ctx.settings.delivery.transport == "file":
        report.output("outbox", str(ctx.settings.out_dir / "outbox"))
    return report


def _bulletin_forms(ctx: Context, report: RunReport, out_dir: Path,
                    ) -> dict[str, tuple[Bulletin, RenderedForms]]:
    """Render and write every bulletin once per run; a broken one is reported and skipped."""
    rendered: dict[str, tuple[Bulletin, RenderedForms]] = {}
    for bulletin in bulletins(ctx, report):
        try:
            forms = render_bulletin(ctx, bulletin)
            write_bulletin(ctx, bulletin, forms, out_dir, report)
        except DigestError as exc:
            report.failures.append(f"bulletin {bulletin.slug}: {exc}")
            continue
        rendered[bulletin.slug] = (bulletin, forms)
    if rendered:
        _isolated(report, "bulletins archive",
                  partial(write_bulletin_archive, ctx, [b for b, _ in rendered.values()],
                          out_dir, report))
    return rendered


def write_bulletin_archive(ctx: Context, shown: list[Bulletin], out_dir: Path,
                           report: RunReport) -> None:
    """``out/bulletins/index.html``: every bulletin of the folder, newest first."""
    entries = []
    for bulletin in sorted(shown, key=lambda b: (b.start_date, b.slug), reverse=True):
        links = bulletin_links(ctx.settings, bulletin.slug)
        entries.append(ArchiveEntry(title=bulletin.title, when=bulletin.start_date,
                                    web_url=links.web_url, pdf_url=links.pdf_url))
    archive_url = bulletin_links(ctx.settings, "").archive_url
    title = ctx.settings.site.title
    path = write_atomic(out_dir / "bulletins" / "index.html",
                        render_archive(ctx.settings, title, archive_url, entries))
    report.output("archive bulletins", str(path))


def build(ctx: Context, out_dir: Path) -> RunReport:
    """Render, without sending or storing an edition, every digest's next edition and
    every bulletin, plus a sample message of each; publish the feeds."""
    report = RunReport()
    ensure_subscribers(ctx, report)
    now = ctx.clock.now()
    rendered = _bulletin_forms(ctx, report, out_dir)
    for slug, (_, forms) in rendered.items():
        path = out_dir / "bulletins" / slug / "sample.eml"
        write_atomic(path, sample_message(ctx, forms.email, BULLETIN_PREFIX + slug, now))
        report.output(f"bulletin {slug}", str(path))
    _isolated(report, "feeds", lambda: publish(ctx, report, [
        bulletin_entry(ctx, b, f) for b, f in rendered.values()]))
    for digest in ctx.settings.digests:
        _isolated(report, f"digest {digest.id}",
                  partial(_build_digest, ctx, digest, out_dir, report))
    return report


def _build_digest(ctx: Context, digest: DigestSettings, out_dir: Path,
                  report: RunReport) -> None:
    edition = next_edition(ctx, digest, current_slot(ctx, digest) or ctx.clock.now())
    if edition.is_empty:
        report.editions.append(f"{digest.id}: nothing new, no edition")
        return
    label = f"{digest.id}/{edition.number}"
    rendered = prepare(ctx, edition, [])
    report.failures.extend(left_out_lines(label, rendered.left_out))
    prepared, edition = rendered.prepared, rendered.edition
    folder = out_dir / "editions" / digest.id / str(edition.number)
    for written in write_forms(folder, f"{digest.id}-{edition.number}", prepared.forms,
                               ctx.settings):
        report.output(f"edition {label}", str(written))
    path = write_atomic(folder / "sample.eml", sample_message(
        ctx, prepared.forms.email, digest.id, ctx.clock.now()))
    report.output(f"edition {label}", str(path))
    report.editions.append(f"{label}: {len(edition.items)} items (preview, not stored)")


def sample_message(ctx: Context, email: RenderedEmail, name: str, now: datetime) -> bytes:
    """The message a member would receive, addressed to the preview recipient."""
    factory = MessageFactory(email, ctx.settings, make_list_id(ctx.settings, name), now)
    message_id = make_message_id(ctx.settings, f"sample/{name}", sample_recipient(ctx).email)
    return factory.build(sample_recipient(ctx), message_id).data


def sample_recipient(ctx: Context) -> Recipient:
    values = preview_values(ctx.settings)
    return Recipient(email=values["email"], name=values["name"],
                     unsubscribe_url=values["unsubscribe_url"],
                     preferences_url=values["preferences_url"])


def collect_only(ctx: Context) -> RunReport:
    report = RunReport()
    collect(ctx, report)
    return report
