"""The bodies of the commands that are not the main job: preview, send, subscribers, status.

Each takes an open ``Context`` and a stream to print on, and returns the exit code; the
CLI parses arguments and maps errors, the pipeline does the stages.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from digest import pipeline
from digest.bulletins import load_bulletin
from digest.context import Context
from digest.errors import InputError
from digest.files import write_atomic
from digest.models import RenderedEmail, RunReport, Subscriber, SubscriberStatus
from digest.outputs import RenderedForms, fill_placeholders, preview_values
from digest.render.lint import Problem, lint_bulletin, lint_email
from digest.scheduler import outlook
from digest.sending import retry_failed, send_pending, send_test
from digest.source_commands import health_lines
from digest.store import deliveries, editions, items, runs, sources, subscribers

FORM_BY_SUFFIX = {".html": "html", ".htm": "html", ".txt": "text", ".pdf": "pdf",
                  ".mjml": "mjml", ".eml": "eml"}


def _rendered_target(ctx: Context, target: str) -> tuple[RenderedForms, list[Problem], str]:
    """Render a bulletin file or a digest's next edition; return its forms and problems."""
    path = Path(target)
    if target.endswith((".md", ".markdown")) or path.is_file():
        if not path.exists():  # a FIFO or a folder is refused by the bounded reader
            raise InputError(f"{target}: no such bulletin file")
        bulletin = pipeline.with_upcoming(ctx, load_bulletin(path, ctx.settings))
        forms = pipeline.render_bulletin(ctx, bulletin)
        problems = lint_bulletin(bulletin) + lint_email(
            forms.email, f"{bulletin.slug} email.html", check_links=False)
        return forms, problems, bulletin.slug
    digest = ctx.settings.digest(target)
    if digest is None:
        known = ", ".join(d.id for d in ctx.settings.digests) or "none"
        raise InputError(f"{target!r} is neither a bulletin file nor a digest id "
                         f"(digests: {known})")
    slot = pipeline.current_slot(ctx, digest) or ctx.clock.now()
    rendered = pipeline.prepare(ctx, pipeline.next_edition(ctx, digest, slot), [])
    edition, forms = rendered.edition, rendered.prepared.forms
    problems = lint_email(forms.email, f"{digest.id} #{edition.number} email.html")
    problems += [Problem("error", f"item {entry.item.key} (source {entry.item.source_id!r})",
                         f"cannot be rendered, left out: {entry.reason}")
                 for entry in rendered.left_out]
    if edition.is_empty:
        problems.insert(0, Problem("warning", digest.id,
                                   "the next edition is empty and would not be sent "
                                   "(run `digest collect` first?)"))
    return forms, problems, f"{digest.id}-{edition.number}"


def _form_bytes(ctx: Context, forms: RenderedForms, form: str, name: str) -> bytes:
    values = preview_values(ctx.settings)
    if form == "html":
        return fill_placeholders(forms.email.html, values, escape=True).encode()
    if form == "text":
        return fill_placeholders(forms.email.text, values, escape=False).encode()
    if form == "mjml":
        return forms.email.mjml.encode()
    if form == "pdf":
        return forms.pdf
    return pipeline.sample_message(ctx, forms.email, name, ctx.clock.now())


def preview(ctx: Context, target: str, form: str | None, out_file: str | None, strict: bool,
            out: TextIO) -> int:
    """Render one target, write the requested form, print its problem list."""
    if out_file and not form:
        form = FORM_BY_SUFFIX.get(Path(out_file).suffix.lower())
        if form is None:
            raise InputError(f"--out {out_file}: say which form with --format "
                             f"({', '.join(sorted(set(FORM_BY_SUFFIX.values())))})")
    forms, problems, name = _rendered_target(ctx, target)
    if form:
        data = _form_bytes(ctx, forms, form, name)
        if out_file:
            write_atomic(Path(out_file), data)
            print(f"wrote {form} to {out_file} ({len(data)} bytes)", file=out)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
    report = sys.stderr if form and not out_file else out
    html_size = len(forms.email.html.encode())
    print(f"{name}: email {html_size / 1024:.1f} KB html, {len(forms.pdf) / 1024:.1f} KB pdf",
          file=report)
    for problem in problems:
        print(f"{problem.severity}: {problem.location}: {problem.message}", file=report)
    if not problems:
        print("no problems found", file=report)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    return 1 if errors or (strict and warnings) else 0


def _edition(ctx: Context, label: str) -> editions.EditionRow:
    with ctx.db.transaction() as connection:
        row = editions.by_label(connection, label)
    if row is None:
        raise InputError(f"no edition {label!r} (see `digest status`)")
    return row


def _rendered_email(ctx: Context, row: editions.EditionRow, variants: bool,
                    out: TextIO) -> dict[str, RenderedEmail]:
    """The edition's emails: the full one under ``all``, plus its pending variants.

    Items that cannot be rendered are left out (and said); an edition that cannot be
    rendered at all is marked failed and the ``RenderError`` raised. A failed edition
    that renders now is sending again (unless this is a test copy)."""
    if row.digest_id.startswith(pipeline.BULLETIN_PREFIX):
        slug = row.digest_id.removeprefix(pipeline.BULLETIN_PREFIX)
        found = [b for b in pipeline.bulletins(ctx, RunReport()) if b.slug == slug]
        if not found:
            raise InputError(f"bulletin {slug!r} is no longer in the bulletins folder")
        return {"all": pipeline.render_bulletin(ctx, found[0]).email}
    digest = ctx.settings.digest(row.digest_id)
    if digest is None:
        raise InputError(f"digest {row.digest_id!r} is no longer in the config")
    row, rendered = pipeline.prepare_stored(ctx, digest, row, revive=variants)
    for line in pipeline.left_out_lines(row.label, rendered.left_out):
        print(f"problem: {line}", file=out)
    prepared = rendered.prepared
    return {**prepared.variants, "all": prepared.forms.email}


def send(ctx: Context, label: str, test_address: str | None, out: TextIO,
         retry: bool = False) -> int:
    """Deliver an approved or half-sent edition's pending rows, or one [TEST] copy of it;
    with ``retry`` its failed rows are queued again first."""
    row = _edition(ctx, label)
    if retry and not test_address:
        queued = retry_failed(ctx, row)
        print(f"{row.label}: {queued} failed message{'s' if queued != 1 else ''} queued again",
              file=out)
        row = _edition(ctx, label)
    sendable = (editions.APPROVED, editions.SENDING, editions.FAILED)
    if not test_address and row.status not in sendable:
        reason = {editions.DRAFT: f"is a draft: approve it first (`digest approve {label}`)",
                  editions.SENT: "was sent already"}.get(row.status, f"is {row.status}")
        raise InputError(f"{row.label} {reason}")
    if not test_address and row.status == editions.FAILED:
        return _send_failed(ctx, row, out)
    rendered = _rendered_email(ctx, row, variants=not test_address, out=out)
    with ctx.open_transport() as transport:
        if test_address:
            answer = send_test(ctx, row, rendered["all"], test_address, transport)
            print(f"test copy of {row.label} sent to {test_address}: {answer}", file=out)
            return 0
        if row.status == editions.APPROVED:
            with ctx.db.transaction() as connection:
                editions.set_status(connection, row.id, editions.SENDING)
        outcome = send_pending(ctx, row, rendered, transport)
    print(f"{row.label}: {outcome.sent} sent, {outcome.failed} refused, "
          f"{outcome.deferred} deferred", file=out)
    if outcome.stopped:
        print(f"stopped: {outcome.stopped}", file=out)
    with ctx.db.transaction() as connection:
        waiting = deliveries.waiting_rows(connection, row.id, ctx.clock.now())
        retry_at = deliveries.next_attempt(connection, row.id, ctx.clock.now())
    if waiting and retry_at is not None:
        print(f"{waiting} deferred message{'s' if waiting != 1 else ''} wait for their next "
              f"attempt (from {retry_at.astimezone(ctx.settings.site.zone):%Y-%m-%d %H:%M})",
              file=out)
    return 1 if outcome.failed or outcome.deferred or outcome.stopped else 0


def _send_failed(ctx: Context, row: editions.EditionRow, out: TextIO) -> int:
    """Try a failed edition again, as the next run would: render it (``RenderError``
    when it still cannot be), write its forms and archive, send its pending rows."""
    digest = ctx.settings.digest(row.digest_id)
    if digest is None:
        raise InputError(f"digest {row.digest_id!r} is no longer in the config")
    report = RunReport()
    with ctx.open_transport() as transport:
        pipeline.deliver_edition(ctx, digest, row, report, transport)
    row = _edition(ctx, row.label)
    print(f"{row.label}: rendered, now {row.status}; {report.sent} sent", file=out)
    for line in report.failures:
        print(f"problem: {line}", file=out)
    if row.status == editions.DRAFT:
        print(f"approve it to send it (`digest approve {row.label}`)", file=out)
    return 1 if report.failures else 0


def approve(ctx: Context, label: str, out: TextIO) -> int:
    """Let a draft edition go out: the next `digest run --once` (or `digest send`) sends it."""
    row = _edition(ctx, label)
    if row.status != editions.DRAFT:
        raise InputError(f"{row.label} is {row.status}, not a draft")
    with ctx.db.transaction() as connection:
        editions.set_status(connection, row.id, editions.APPROVED)
    print(f"{row.label}: approved; `digest send {row.label}` or the next run sends it", file=out)
    return 0


def subscribers_command(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    """``digest subscribers import|add|remove|list``."""
    settings = ctx.settings
    now = ctx.clock.now()
    with ctx.db.transaction() as connection:
        if args.action == "import":
            result = subscribers.import_csv(
                connection, Path(args.file), now, settings.site.language,
                [d.id for d in settings.digests], settings.themes)
            print(f"{result.added} added, {result.known} already known", file=out)
            for problem in result.problems:
                print(f"problem: {problem}", file=out)
            return 2 if result.problems else 0  # refused rows are refused input
        if args.action == "add":
            digests = tuple(d for d in args.digests.split(";") if d) or tuple(
                d.id for d in settings.digests)
            themes = tuple(t for t in args.themes.split(";") if t)
            unknown = [t for t in themes if t not in settings.themes] + [
                d for d in digests if settings.digest(d) is None]
            if unknown:
                raise InputError(f"unknown theme or digest: {', '.join(unknown)}")
            member = Subscriber(email=args.email, name=args.name,
                                language=args.language or settings.site.language,
                                digests=digests, themes=themes)
            added = subscribers.add(connection, member, now)
            print(f"{args.email}: {'added' if added else 'already known'}", file=out)
            return 0
        if args.action == "remove":
            if not subscribers.set_status(connection, args.email,
                                          SubscriberStatus.UNSUBSCRIBED):
                raise InputError(f"no subscriber {args.email!r}")
            print(f"{args.email}: unsubscribed", file=out)
            return 0
        for member in subscribers.all_members(connection):
            shown = ";".join(member.themes) or "all themes"
            print(f"{member.email}\t{member.status.value}\t{member.language}\t"
                  f"{';'.join(member.digests)}\t{shown}\t{member.name}", file=out)
        return 0


def status(ctx: Context, out: TextIO) -> int:
    """Sources' health, next scheduled runs, recent editions and their deliveries."""
    zone = ctx.settings.site.zone
    now = ctx.clock.now()
    with ctx.db.transaction() as connection:
        health = sources.health(connection)
        recent = editions.recent(connection)
        counts = {row.id: deliveries.counts(connection, row.id) for row in recent}
        failed = {row.id: deliveries.failures(connection, row.id) for row in recent}
        problems = {row.id: editions.problems(connection, row.id) for row in recent}
        retry_at = {row.id: deliveries.next_attempt(connection, row.id, now) for row in recent}
        stored = items.count_items(connection)
        last_runs = runs.last_runs(connection)
    print(f"items stored: {stored}", file=out)
    print("sources:", file=out)
    for line in health_lines(ctx.settings, health, zone):
        print(line, file=out)
    print(f"jobs (next run, last run; {ctx.settings.site.timezone}):", file=out)
    for job in outlook(ctx.settings, now, last_runs):
        upcoming = f"{job.next_run.astimezone(zone):%a %Y-%m-%d %H:%M}" if job.next_run \
            else "none"
        previous = "never run"
        if job.last is not None:
            previous = f"{job.last.started_at.astimezone(zone):%Y-%m-%d %H:%M} {job.last.outcome}"
            if job.last.detail:
                previous += f": {job.last.detail[:160]}"
        print(f"  {job.id}: next {upcoming}; last {previous}", file=out)
    print("editions:", file=out)
    for row in recent:
        tally = ", ".join(f"{n} {state}" for state, n in sorted(counts[row.id].items()))
        print(f"  {row.label} [{row.status}] {row.title}: {tally or 'no deliveries'}", file=out)
        found = problems[row.id]
        if row.status == editions.FAILED:
            print(f"    cannot be rendered: {found.failure or 'no reason recorded'}", file=out)
            print(f"    (after a fix, the next run or `digest send {row.label}` tries again)",
                  file=out)
        for left in found.left_out:
            print(f"    left out: item {left.item_key} from source {left.source_id!r} "
                  f"(it cannot be rendered): {left.reason}", file=out)
        if (retry := retry_at[row.id]) is not None:
            print(f"    deferred messages are tried again from "
                  f"{retry.astimezone(zone):%Y-%m-%d %H:%M}", file=out)
        for failure in failed[row.id]:
            print(f"    failed: {failure.email} ({failure.attempts} attempt"
                  f"{'s' if failure.attempts != 1 else ''}): {failure.error}", file=out)
        if failed[row.id]:
            print(f"    (queue them again with `digest send {row.label} --retry-failed`)",
                  file=out)
    return 0


