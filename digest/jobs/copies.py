"""[TEST] copies before sending: an edition, or a bulletin that has no edition yet
(rendered from its file), to a few addresses, as one chosen variant of a digest.

A test copy carries "[TEST]" in its subject, is never recorded as a delivery (no outbox
row, nothing counted), and is written to the audit log. An address erased at its owner's
request is refused: it receives nothing until they subscribe anew.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from digest.config import deliverable_address
from digest.errors import InputError
from digest.identifiers import EditionSeries, VariantKey, parse_label
from digest.jobs import manual
from digest.jobs.context import Context
from digest.jobs.delivery import FULL_VARIANT, send_test_of
from digest.jobs.editions import stored_edition
from digest.jobs.prepare import left_out_lines, prepare, unpublished_email
from digest.jobs.publication import is_public
from digest.jobs.review import find_bulletin
from digest.models import RenderedEmail, RunReport
from digest.store import audit, subscribers
from digest.store.editions import EditionRow

MAX_ADDRESSES = 20  # a test goes to a few coordinators, not to a list


@dataclass(frozen=True)
class TestCopy:
    """What a test-send sent: to whom, and each server's answer."""

    __test__ = False  # not a pytest class
    target: str
    variant: str
    answers: tuple[tuple[str, str], ...]  # (address, answer)


def send_test(ctx: Context, target: str, addresses: Sequence[str],
              variant: VariantKey | None, actor: str,
              report: RunReport | None = None) -> TestCopy:
    """Send one [TEST] copy of ``target`` to each address: an edition label (``weekly/3``,
    ``bulletin:SLUG/1``) or ``bulletin:SLUG`` for a bulletin as its file is now. For a
    digest, ``variant`` picks the (language, themes) version (None: the full edition).
    Items that cannot be rendered are left out and said in ``report``."""
    checked = _addresses(addresses)
    with ctx.db.transaction() as connection:
        for address in checked:  # an erased address receives nothing, not even a test
            subscribers.refuse_erased(connection, address)
    report = report if report is not None else RunReport()
    series, label, email = _email(ctx, target, variant or VariantKey.everything(), report)
    answers = []
    with ctx.open_transport() as transport:
        for address in checked:
            answers.append((address, send_test_of(ctx, series, label, email, address,
                                                  transport)))
    shown = str(variant or VariantKey.everything())
    with ctx.db.transaction() as connection:
        audit.record(connection, at=ctx.clock.now(), actor=actor, action=audit.Action.TEST_SEND,
                     target=label, detail=f"to {', '.join(checked)} as {shown}")
    return TestCopy(target=label, variant=shown, answers=tuple(answers))


def _addresses(addresses: Sequence[str]) -> list[str]:
    """The addresses, checked and each once; refused input names the bad one."""
    checked: list[str] = []
    for address in addresses:
        if not address.strip():
            continue
        try:
            normal = deliverable_address(address.strip())
        except ValueError as exc:
            raise InputError(f"{address.strip()!r} is not an address: {exc}") from None
        if normal not in checked:
            checked.append(normal)
    if not checked:
        raise InputError("give at least one address for the test copy")
    if len(checked) > MAX_ADDRESSES:
        raise InputError(f"{len(checked)} addresses: a test goes to {MAX_ADDRESSES} at most")
    return checked


def _email(ctx: Context, target: str, variant: VariantKey,
           report: RunReport) -> tuple[str, str, RenderedEmail]:
    """(series, label, email) of the target: a bulletin's file, or a stored edition's
    chosen variant."""
    if target.startswith("bulletin:") and parse_label(target) is None:
        slug = target.removeprefix("bulletin:")
        found = find_bulletin(ctx, slug)
        series = str(EditionSeries.of_bulletin(slug))
        return series, series, found.email
    row = manual.find_edition(ctx, target)
    return row.digest_id, row.label, _edition_email(ctx, row, variant, report)


def _edition_email(ctx: Context, row: EditionRow, variant: VariantKey,
                   report: RunReport) -> RenderedEmail:
    """The variant's email; an edition not published yet (a draft) links to its console
    page instead of a web version that is not there."""
    if not row.series.is_bulletin and not is_public(row):
        return _unpublished(ctx, row, variant, report)
    if row.series.is_bulletin or variant == VariantKey.everything():
        return manual.stored_emails(ctx, row, revive=False, report=report)[FULL_VARIANT]
    digest = ctx.settings.digest(row.digest_id)
    if digest is None:
        raise InputError(f"digest {row.digest_id!r} is no longer in the config")
    rendered = prepare(ctx, stored_edition(ctx, digest, row), [variant])
    report.failures.extend(left_out_lines(row.label, rendered.left_out))
    email = rendered.prepared.variants.get(str(variant))
    if email is None:
        raise InputError(f"{row.label} has nothing for the variant {variant}: no item of "
                         "its themes")
    return email


def _unpublished(ctx: Context, row: EditionRow, variant: VariantKey,
                 report: RunReport) -> RenderedEmail:
    digest = ctx.settings.digest(row.digest_id)
    if digest is None:
        raise InputError(f"digest {row.digest_id!r} is no longer in the config")
    rendered = prepare(ctx, stored_edition(ctx, digest, row), [])
    report.failures.extend(left_out_lines(row.label, rendered.left_out))
    email = unpublished_email(ctx, rendered.edition, variant)
    if email is None:
        raise InputError(f"{row.label} has nothing for the variant {variant}: no item of "
                         "its themes")
    return email
