"""What a coordinator starts by hand on one stored edition (``digest send``, ``digest
approve``): which editions may be sent and why not, a draft approved, its pending messages
sent now, its failed ones queued again, a failed edition rendered and sent again, or one
[TEST] copy.

Each renders the stored edition as a run would: items that cannot be rendered are left out
and reported in the given ``RunReport``; an edition that cannot be rendered at all is
marked failed and the ``RenderError`` raised. The mail transport is opened for the send
only.
"""

from __future__ import annotations

from datetime import datetime

from digest.config import DigestSettings
from digest.errors import InputError
from digest.jobs.archives import write_edition_archive
from digest.jobs.bulletins import bulletins, render_bulletin
from digest.jobs.context import Context
from digest.jobs.delivery import FULL_VARIANT, SENDABLE, send_edition, send_test
from digest.jobs.editions import deliver_edition, prepare_stored, stored_edition
from digest.jobs.outbox import SendOutcome
from digest.jobs.prepare import left_out_lines
from digest.jobs.publication import is_public, publish_edition
from digest.models import RenderedEmail, RunReport
from digest.store import deliveries, editions
from digest.store.editions import EditionRow


def find_edition(ctx: Context, label: str) -> EditionRow:
    """The stored edition named ``label`` (weekly/3, bulletin:SLUG/1), or refused input."""
    with ctx.db.transaction() as connection:
        row = editions.by_label(connection, label)
    if row is None:
        raise InputError(f"no edition {label!r} (see `digest status`)")
    return row


def check_sendable(row: EditionRow) -> None:
    """Refuse (``InputError``) an edition ``digest send`` cannot send: a draft waits for
    its approval, a sent one is done. A run's sendable editions can, and a failed one
    (rendered again first, ``needs_rendering``)."""
    if row.status in SENDABLE or needs_rendering(row):
        return
    reason = {editions.DRAFT: f"is a draft: approve it first (`digest approve {row.label}`)",
              editions.SENT: "was sent already"}.get(row.status, f"is {row.status}")
    raise InputError(f"{row.label} {reason}")


def needs_rendering(row: EditionRow) -> bool:
    """Whether sending the edition starts by rendering it again (it could not be, before)."""
    return row.status == editions.FAILED


def approve(ctx: Context, row: EditionRow) -> None:
    """Let a draft edition go out: the next run (or ``digest send``) sends it."""
    if row.status != editions.DRAFT:
        raise InputError(f"{row.label} is {row.status}, not a draft")
    with ctx.db.transaction() as connection:
        editions.set_status(connection, row.id, editions.APPROVED)


def deferred(ctx: Context, row: EditionRow) -> tuple[int, datetime | None]:
    """How many of the edition's messages wait for a later attempt, and from when."""
    now = ctx.clock.now()
    with ctx.db.transaction() as connection:
        return (deliveries.waiting_rows(connection, row.id, now),
                deliveries.next_attempt(connection, row.id, now))


def send_now(ctx: Context, row: EditionRow, report: RunReport) -> SendOutcome:
    """Send an approved or half-sent edition's pending messages now, its web version and
    PDF published first (an approved draft's, for the first time)."""
    emails = stored_emails(ctx, row, revive=True, report=report)
    if row.series.is_bulletin:
        with ctx.open_transport() as transport:
            return send_edition(ctx, row, emails, transport)
    digest = _digest_of(ctx, row)
    current = find_edition(ctx, row.label)
    if is_public(current):  # not a failed one that is a draft again
        publish_edition(ctx, digest, current, stored_edition(ctx, digest, current), report)
    try:
        with ctx.open_transport() as transport:
            return send_edition(ctx, row, emails, transport)
    finally:
        write_edition_archive(ctx, digest, report)  # now that it is being sent


def send_test_copy(ctx: Context, row: EditionRow, address: str, report: RunReport) -> str:
    """One [TEST] copy of the edition's full email to ``address``; the server's answer."""
    email = stored_emails(ctx, row, revive=False, report=report)[FULL_VARIANT]
    with ctx.open_transport() as transport:
        return send_test(ctx, row, email, address, transport)


def retry_rendering(ctx: Context, row: EditionRow) -> RunReport:
    """Try a failed edition again, as the next run would: render it (``RenderError``
    when it still cannot be), write its forms and archive, send its pending rows."""
    digest = _digest_of(ctx, row)
    report = RunReport()
    with ctx.open_transport() as transport:
        deliver_edition(ctx, digest, row, report, transport)
    return report


def retry_failed(ctx: Context, edition: EditionRow) -> int:
    """Queue an edition's failed rows again (``digest send EDITION --retry-failed``)."""
    with ctx.db.transaction() as connection:
        queued = deliveries.retry_failed(connection, edition.id, ctx.clock.now())
        if queued and edition.status == editions.SENT:
            editions.set_status(connection, edition.id, editions.SENDING)
    return queued


def stored_emails(ctx: Context, row: EditionRow, *, revive: bool,
                  report: RunReport) -> dict[str, RenderedEmail]:
    """The edition's emails: the full one under ``all``, plus its pending variants.

    A failed edition that renders now is sending again, unless ``revive`` is False (a
    test copy)."""
    if row.series.is_bulletin:
        slug = row.series.name
        found = [b for b in bulletins(ctx, RunReport()) if b.slug == slug]
        if not found:
            raise InputError(f"bulletin {slug!r} is no longer in the bulletins folder")
        return {FULL_VARIANT: render_bulletin(ctx, found[0]).email}
    row, rendered = prepare_stored(ctx, _digest_of(ctx, row), row, revive=revive)
    report.failures.extend(left_out_lines(row.label, rendered.left_out))
    prepared = rendered.prepared
    return {**prepared.variants, FULL_VARIANT: prepared.forms.email}


def _digest_of(ctx: Context, row: EditionRow) -> DigestSettings:
    digest = ctx.settings.digest(row.digest_id)
    if digest is None:
        raise InputError(f"digest {row.digest_id!r} is no longer in the config")
    return digest
