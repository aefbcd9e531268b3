"""The main job and the housekeeping job, each a short list of named steps.

``run_once`` is ``digest run --once``; the service runs the same steps on their own
schedules (``collect`` per source, ``housekeeping`` at ``feeds.every``, ``run_digest`` at
each digest's cron).
"""

from __future__ import annotations

from functools import partial

from digest.jobs import bulletins, joining
from digest.jobs.bounces import read_for_run
from digest.jobs.collect import collect, ensure_subscribers
from digest.jobs.context import Context
from digest.jobs.editions import resume_unfinished, run_digest
from digest.jobs.feeds import publish
from digest.jobs.isolation import isolated
from digest.mail.transports import Transport
from digest.models import RunReport


def run_once(ctx: Context) -> RunReport:
    """The main job: collect, publish, then make and deliver every due edition and bulletin."""
    report = RunReport()
    ensure_subscribers(ctx, report)
    collect(ctx, report)
    with ctx.open_transport() as transport:
        housekeeping(ctx, report, transport)
        run_digests(ctx, report, transport)
    if ctx.settings.delivery.transport == "file":
        report.output("outbox", str(ctx.settings.out_dir / "outbox"))
    return report


def housekeeping(ctx: Context, report: RunReport, transport: Transport, *,
                 bounces: bool = True) -> None:
    """Everything but polling and new digest editions: render bulletins, resume unfinished
    sends, send due bulletins, republish the feeds. The service runs it at ``feeds.every``.
    The bounce mailbox is read first, so no message goes to a member a report marked
    (``bounces=False``: a worker's own job read it just before)."""
    if bounces:
        isolated(report, "bounces", partial(read_for_run, ctx, report))
    rendered = bulletins.render_and_write_all(ctx, report, ctx.settings.out_dir)
    resume_unfinished(ctx, report, transport, rendered)
    bulletins.send_due(ctx, rendered, report, transport)
    isolated(report, "feeds", partial(publish, ctx, report, rendered))
    isolated(report, "joining", partial(joining.forget_unconfirmed, ctx))


def run_digests(ctx: Context, report: RunReport, transport: Transport) -> None:
    """Make and deliver each digest's current edition; one failing costs no other."""
    for digest in ctx.settings.digests:
        isolated(report, f"digest {digest.id}",
                 partial(run_digest, ctx, digest, report, transport))
