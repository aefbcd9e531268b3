"""Looking at and letting out one edition: ``preview`` and ``send`` (a coordinator's
decisions, ``approve`` and the others, are ``cli.review``'s).

``send`` is here; ``preview`` renders and lints (``cli.preview``). What may be sent and
the sending are the jobs' (``jobs.manual``): this module parses the arguments and says
what happened.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from digest.cli.common import Subcommands, add_command
from digest.dates import console_stamp
from digest.identifiers import VariantKey
from digest.models import EditionStatus, RunReport

if TYPE_CHECKING:
    from digest.jobs.context import Context
    from digest.store.editions import EditionRow

FORMATS = ("html", "text", "pdf", "mjml", "eml")


def register(commands: Subcommands) -> None:
    """Add ``preview`` and ``send``, each with its description and example."""
    preview = add_command(
        commands, "preview", "render one digest or bulletin and lint it",
        """
        Render a digest's next edition (by its id) or a bulletin (by its Markdown file)
        and print its problem list: placeholder and empty links with their line, missing
        alt text, sections without a heading, size against Gmail's clipping. With
        --format, write that one form (mjml is the source before compilation); --out
        FILE.pdf picks the form from the extension. Exit 1 when a problem is an error
        (or any problem, with --strict).
        """,
        """
        digest preview weekly --format html --out weekly.html
        digest preview sample/bulletins/2019-03-wg-smart-social-inclusion.md --out b.pdf
        """, _preview)
    preview.add_argument("target", help="a digest id or a bulletin Markdown file")
    preview.add_argument("--format", choices=FORMATS, help="write this one form")
    preview.add_argument("--out", metavar="FILE", help="where to write it (default: stdout)")
    preview.add_argument("--strict", action="store_true", help="warnings fail (exit 1)")
    send = add_command(
        commands, "send", "deliver an edition, or one test copy",
        """
        Deliver the pending messages of an approved or half-sent edition, named
        DIGEST/NUMBER for a digest (weekly/3) or bulletin:SLUG/1 for a bulletin. With
        --test ADDRESS (repeatable), send one copy marked [TEST] to each address only
        (never recorded as a delivery, written to the audit log), of an edition (as the
        variant --language and --themes choose) or of a bulletin not sent yet, named
        bulletin:SLUG, as its file is now. With --retry-failed, queue the edition's
        refused messages again first. SIGTERM (`kill PID`) finishes the message in
        flight and leaves the rest pending; Ctrl-C interrupts at once (exit 130).
        """,
        """
        digest send weekly/3
        digest send bulletin:2019-03-wg-smart-social-inclusion --test me@example.org
        digest send weekly/3 --test me@example.org --language fr --themes culture
        """, _send)
    send.add_argument("edition", help="weekly/3, bulletin:SLUG/1 (or bulletin:SLUG with --test)")
    send.add_argument("--test", metavar="ADDRESS", action="append",
                      help="send one [TEST] copy to ADDRESS only (repeatable)")
    send.add_argument("--language", help="with --test: the variant's language")
    send.add_argument("--themes", metavar="A,B", help="with --test: the variant's themes")
    send.add_argument("--retry-failed", action="store_true",
                      help="queue the edition's failed messages again, then send")


def _preview(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.cli.preview import preview

    return preview(ctx, args.target, args.format, args.out, args.strict, out)


def _send(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    ctx.stop_on_sigterm()
    if args.test:
        themes = [t.strip() for t in (args.themes or "").split(",") if t.strip()]
        variant = VariantKey.of(themes, args.language) if themes or args.language else None
        return _send_test(ctx, args.edition, args.test, variant, out)
    return send(ctx, args.edition, out, args.retry_failed)


def send(ctx: Context, label: str, out: TextIO, retry: bool = False) -> int:
    """Deliver an approved or half-sent edition's pending rows; with ``retry`` its failed
    rows are queued again first."""
    from digest.jobs import manual

    row = manual.find_edition(ctx, label)
    if retry:
        from digest.jobs.edition_actions import retry_failed

        queued = retry_failed(ctx, row.label, "cli")  # audited
        print(f"{row.label}: {queued} failed message{'s' if queued != 1 else ''} queued again",
              file=out)
        row = manual.find_edition(ctx, label)
    manual.check_sendable(row)
    if manual.needs_rendering(row):
        return _send_failed(ctx, row, out)
    report = RunReport()
    try:
        outcome = manual.send_now(ctx, row, report)
    finally:
        _print_problems(report, out)
    print(f"{row.label}: {outcome.sent} sent, {outcome.failed} refused, "
          f"{outcome.deferred} deferred", file=out)
    if outcome.stopped:
        print(f"stopped: {outcome.stopped}", file=out)
    if outcome.deferred and outcome.deferral:
        print(f"last deferred: {outcome.deferral}", file=out)
    waiting, retry_at = manual.deferred(ctx, row)
    if waiting and retry_at is not None:
        print(f"{waiting} deferred message{'s' if waiting != 1 else ''} wait for their next "
              f"attempt (from {console_stamp(retry_at, ctx.settings.site.zone)})",
              file=out)
    return 1 if outcome.failed or outcome.deferred or outcome.stopped else 0


def _send_test(ctx: Context, target: str, addresses: list[str], variant: VariantKey | None,
               out: TextIO) -> int:
    """One [TEST] copy to each address, whatever the edition's state."""
    from digest.jobs.copies import send_test

    report = RunReport()
    try:
        copy = send_test(ctx, target, addresses, variant, "cli", report)
    finally:
        _print_problems(report, out)
    for address, answer in copy.answers:
        print(f"test copy of {copy.target} ({copy.variant}) sent to {address}: {answer}",
              file=out)
    return 0


def _send_failed(ctx: Context, row: EditionRow, out: TextIO) -> int:
    """Try a failed edition again, as the next run would, and say how it went."""
    from digest.jobs.manual import find_edition, retry_rendering

    report = retry_rendering(ctx, row)
    row = find_edition(ctx, row.label)
    print(f"{row.label}: rendered, now {row.status}; {report.sent} sent", file=out)
    _print_problems(report, out)
    if row.status == EditionStatus.DRAFT:
        print(f"approve it to send it (`digest approve {row.label}`)", file=out)
    return 1 if report.failures else 0


def _print_problems(report: RunReport, out: TextIO) -> None:
    for label, path in report.outputs:  # the web version published as it goes out
        print(f"  {label}: {path}", file=out)
    for line in report.failures:
        print(f"problem: {line}", file=out)
