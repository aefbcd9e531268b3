"""Handing an edition's rendered variants to the outbox, and the one send besides it: a
[TEST] copy that is never recorded.

The outbox works through rows; this module is what the jobs and the commands ask of it,
so a run and `digest send` start an approved edition the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from digest.identifiers import VariantKey
from digest.jobs.context import Context
from digest.jobs.outbox import SendOutcome, send_pending
from digest.links import preferences_url, unsubscribe_url
from digest.mail.message import MessageFactory, Recipient, make_list_id, make_message_id
from digest.mail.transports import Transport
from digest.models import RenderedEmail, RunReport
from digest.store import edition_variants, editions
from digest.store.editions import EditionRow

SENDABLE = (editions.SENDING, editions.APPROVED)
# The full edition's key in a rendered mapping and in the outbox rows: a bulletin's only
# variant, and the email a [TEST] copy shows.
FULL_VARIANT = str(VariantKey.everything())


def send_edition(ctx: Context, row: EditionRow, rendered: Mapping[str, RenderedEmail],
                 transport: Transport) -> SendOutcome:
    """Deliver an approved or sending edition's pending rows; an approved one is marked
    sending first, so a stop half-way is resumed by the next run."""
    if row.status == editions.APPROVED:
        with ctx.db.transaction() as connection:
            editions.set_status(connection, row.id, editions.SENDING)
    return send_pending(ctx, row, rendered, transport)


def deliver(ctx: Context, row: EditionRow, rendered: Mapping[str, RenderedEmail],
            transport: Transport, report: RunReport) -> None:
    """``send_edition`` as a run step: nothing for an edition that is not to be sent, and
    what was sent or went wrong counted in the run's report. In worker mode
    (``ctx.dispatch_outbox``) its rendered variants are kept in the store, the edition is
    marked sending and its send jobs queued: they count what they send in their own
    reports."""
    if row.status not in SENDABLE:
        return
    if ctx.dispatch_outbox is not None:
        with ctx.db.transaction() as connection:
            edition_variants.save(connection, row.id, rendered)  # for every send job
            if row.status == editions.APPROVED:
                editions.set_status(connection, row.id, editions.SENDING)
        ctx.dispatch_outbox(row)
        return
    count_outcome(row.label, send_edition(ctx, row, rendered, transport), report)


def count_outcome(label: str, outcome: SendOutcome, report: RunReport) -> None:
    """What a pass over an edition's rows adds to a run's report: messages sent, a
    coordinator's hold, the problem line (the send jobs' outcomes, summed, the same way)."""
    report.sent += outcome.sent
    if outcome.held:
        report.editions.append(f"{label}: {outcome.held} by a coordinator after "
                               f"{outcome.sent} sent this run; the rest waits")
    if problem := outcome.problem(label):
        report.failures.append(problem)


def send_test(ctx: Context, edition: EditionRow, rendered: RenderedEmail, address: str,
              transport: Transport) -> str:
    """One copy marked [TEST] to ``address``; never recorded as a delivery."""
    return send_test_of(ctx, edition.digest_id, edition.label, rendered, address, transport)


def send_test_of(ctx: Context, series: str, label: str, rendered: RenderedEmail, address: str,
                 transport: Transport) -> str:
    """``send_test`` for what may have no edition yet (a bulletin): ``series`` is its
    digest id or ``bulletin:<slug>``, ``label`` how its Message-ID names it."""
    factory = MessageFactory(rendered, ctx.settings, make_list_id(ctx.settings, series),
                             ctx.clock.now(), test=True)
    recipient = Recipient(email=address, name="Test recipient",
                          unsubscribe_url=unsubscribe_url(ctx.settings, "test"),
                          preferences_url=preferences_url(ctx.settings, "test"))
    # Each test copy is its own message: a repeated test must not look like a duplicate.
    stamp = ctx.clock.now().isoformat() + secrets.token_hex(4)
    message_id = make_message_id(ctx.settings, f"{label}/test/{stamp}", address)
    return transport.send(factory.build(recipient, message_id))
