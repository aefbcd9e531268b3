"""A bulletin's life (docs/console.md): the state table over each class of situation, and
through the jobs on the sample project (SQLite and PostgreSQL): held by its lint errors
and absent from out/, the archive, the feeds and the web app; approved only with a reason
while errors stand; an approval undone by an edit; ``approval: false``; rejection;
scheduling; every decision in the audit log."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from digest.config import load_settings
from digest.errors import InputError
from digest.jobs.bulletin_state import BulletinState, decide
from digest.jobs.context import Context
from digest.jobs.review import (
    approve_bulletin,
    find_bulletin,
    reject_bulletin,
    schedule_bulletin,
)
from digest.jobs.run import run_once
from digest.models import EditionStatus
from digest.store import audit, editions, reviews
from digest.store.editions import EditionRow
from digest.store.reviews import Review
from digest.testing import ManualClock
from tests.conftest import SAMPLE_BULLETIN_SLUG
from tests.web_app_server import serving

SLUG = SAMPLE_BULLETIN_SLUG
TARGET = f"bulletin:{SLUG}"
NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)

# ------------------------------------------------------------------ the state table


def _review(decision: reviews.Decision = reviews.APPROVED, content: str = "h1",
            reason: str | None = None, send_at: datetime | None = None) -> Review:
    return Review(slug=SLUG, content_hash=content, decision=decision, actor="a@example.org",
                  at=NOW, reason=reason, send_at=send_at)


def _edition(status: EditionStatus) -> EditionRow:
    return EditionRow(id=1, digest_id=TARGET, slot=NOW, number=1, status=status, title="t",
                      period_start=None, period_end=NOW, item_keys=(), omitted=0)


@dataclass(frozen=True)
class Case:
    edition: EditionRow | None = None
    review: Review | None = None
    errors: bool = False
    approval: bool = True
    file_send_at: datetime | None = None


LATER, EARLIER = NOW + timedelta(days=3), NOW - timedelta(days=3)
OVERRIDE = "links are fixed on the site"
CASES = {
    # sent wins over everything the file or the reviews say now
    "sent, since edited with errors": (Case(_edition(EditionStatus.SENT), errors=True,
                                            review=_review(content="old")), "sent"),
    "being sent": (Case(_edition(EditionStatus.SENDING)), "sent"),
    "paused half-way": (Case(_edition(EditionStatus.PAUSED)), "sent"),
    "cancelled before its first message": (Case(_edition(EditionStatus.CANCELLED),
                                                review=_review()), "cancelled"),
    # rejected for this content, whatever else
    "rejected": (Case(review=_review(reviews.REJECTED, reason="no")), "rejected"),
    "rejected, clean, no approval needed": (
        Case(review=_review(reviews.REJECTED, reason="no"), approval=False), "rejected"),
    "rejected an older content": (Case(review=_review(reviews.REJECTED, content="old")),
                                  "draft"),
    # lint errors hold it unless an approval of this content gave a reason
    "errors, never reviewed": (Case(errors=True), "held"),
    "errors, no approval needed": (Case(errors=True, approval=False), "held"),
    "errors, approved without reason": (Case(review=_review(), errors=True), "held"),
    "errors, overridden": (Case(review=_review(reason=OVERRIDE), errors=True), "due"),
    "errors, an older content overridden": (
        Case(review=_review(content="old", reason=OVERRIDE), errors=True), "held"),
    "errors, overridden, scheduled": (
        Case(review=_review(reason=OVERRIDE, send_at=LATER), errors=True), "scheduled"),
    # clean: approval
    "clean, never reviewed": (Case(), "draft"),
    "clean, an older content approved": (Case(review=_review(content="old")), "draft"),
    "clean, approved": (Case(review=_review()), "due"),
    "clean, no approval needed": (Case(approval=False), "due"),
    # when
    "approved, the file's send_at to come": (Case(review=_review(), file_send_at=LATER),
                                             "scheduled"),
    "approved, the file's send_at passed": (Case(review=_review(), file_send_at=EARLIER),
                                            "due"),
    "the review's schedule over the file's (later)": (
        Case(review=_review(send_at=LATER), file_send_at=EARLIER), "scheduled"),
    "the review's schedule over the file's (sooner)": (
        Case(review=_review(send_at=EARLIER), file_send_at=LATER), "due"),
    "no approval needed, send_at to come": (Case(approval=False, file_send_at=LATER),
                                            "scheduled"),
    "a draft with a send_at to come": (Case(file_send_at=LATER), "draft"),
    "an older content's schedule does not count": (
        Case(review=_review(content="old", send_at=LATER), approval=False), "due"),
}


@pytest.mark.parametrize(("case", "expected"), CASES.values(), ids=CASES.keys())
def test_the_state_of_each_class_of_situation(case: Case, expected: str) -> None:
    state, _ = decide(edition=case.edition, review=case.review, content="h1",
                      errors=case.errors, approval=case.approval,
                      file_send_at=case.file_send_at, now=NOW)
    assert state == BulletinState(expected)


# ------------------------------------------------------------------ through the jobs


@pytest.fixture
def ctx(sample_ctx: Context) -> Context:
    return sample_ctx


def _file(ctx: Context) -> Path:
    return ctx.settings.resolve(ctx.settings.bulletins.path) / f"{SLUG}.md"  # type: ignore[union-attr]


def _fix_links(ctx: Context) -> None:
    path = _file(ctx)
    path.write_text(path.read_text().replace("](#)", "](https://www.eurocities.eu/)"))


def _placeholder_lines(path: Path) -> list[int]:
    lines = path.read_text().splitlines()
    return [n for n, line in enumerate(lines, 1) for _ in range(line.count("](#)"))]


def _published(ctx: Context) -> dict[str, bool]:
    """Where the bulletin shows: its folder, the archive page, any feed."""
    out = ctx.settings.out_dir / "bulletins"
    archive = out / "index.html"
    feeds = [p for p in ctx.settings.feeds_dir.glob("*.*") if p.is_file()]
    return {"folder": (out / SLUG).exists(),
            "archive": archive.is_file() and SLUG in archive.read_text(),
            "feeds": any(SLUG in p.read_text() for p in feeds)}


def _audit(ctx: Context) -> list[audit.AuditEntry]:
    with ctx.db.transaction() as connection:
        return audit.for_target(connection, TARGET)


def test_the_seed_is_held_with_each_error_at_its_line_and_published_nowhere(
        ctx: Context) -> None:
    report = run_once(ctx)
    assert not report.failed, report.failures
    expected = _placeholder_lines(_file(ctx))
    assert len(expected) == 7
    [head, *errors] = [line for line in report.notes if TARGET in line or ".md:" in line]
    assert head.startswith(f"{TARGET}: held: 7 lint errors; not sent, not published")
    assert [int(re.search(r"\.md:(\d+): error: ", e).group(1))  # type: ignore[union-attr]
            for e in errors] == expected
    assert _published(ctx) == {"folder": False, "archive": False, "feeds": False}
    assert report.sent == 5  # the digest only
    with ctx.db.transaction() as connection:
        assert editions.latest(connection, TARGET) is None
    with serving(ctx) as base:
        assert httpx.get(f"{base}/bulletins/{SLUG}/").status_code == 404


def test_an_approval_needs_a_reason_while_errors_stand_and_records_it(ctx: Context) -> None:
    with pytest.raises(InputError) as refused:
        approve_bulletin(ctx, SLUG, "approver@example.org")
    message = str(refused.value)
    assert "7 lint errors" in message and "--reason" in message
    for line in _placeholder_lines(_file(ctx)):
        assert f"{SLUG}.md:{line}: error: link " in message
    with pytest.raises(InputError):
        approve_bulletin(ctx, SLUG, "approver@example.org", reason="   ")
    assert find_bulletin(ctx, SLUG).status.state == BulletinState.HELD
    assert _audit(ctx) == []  # a refusal changes nothing

    status = approve_bulletin(ctx, SLUG, "approver@example.org", reason=OVERRIDE)
    assert status.state == BulletinState.DUE and len(status.errors) == 7
    [entry] = _audit(ctx)
    assert (entry.actor, entry.action, entry.reason) == ("approver@example.org", "approve",
                                                         OVERRIDE)
    assert "overrides 7 lint errors" in (entry.detail or "")
    with ctx.db.transaction() as connection:
        review = reviews.latest(connection, SLUG)
    assert review is not None and review.reason == OVERRIDE
    assert review.content_hash == status.content_hash

    report = run_once(ctx)
    assert report.sent == 5 + 6  # the digest, and the bulletin to each of the six
    assert _published(ctx) == {"folder": True, "archive": True, "feeds": True}
    with pytest.raises(InputError, match="sent"):
        approve_bulletin(ctx, SLUG, "approver@example.org", reason=OVERRIDE)
    assert run_once(ctx).sent == 0  # once


def test_an_edit_after_approval_returns_it_to_draft(ctx: Context) -> None:
    _fix_links(ctx)
    assert find_bulletin(ctx, SLUG).status.state == BulletinState.DRAFT
    approved = approve_bulletin(ctx, SLUG, "cli")
    assert approved.state == BulletinState.DUE and approved.errors == ()
    path = _file(ctx)
    path.write_text(path.read_text() + "\nOne more sentence.\n")
    edited = find_bulletin(ctx, SLUG).status
    assert edited.state == BulletinState.DRAFT and edited.content_hash != approved.content_hash
    report = run_once(ctx)
    assert f"{TARGET}: draft, waiting for `digest approve {TARGET}`" in "\n".join(report.notes)
    assert report.sent == 5 and not _published(ctx)["folder"]
    # Approving what was seen before the edit is refused; the new content can be approved.
    with pytest.raises(InputError, match="changed since you looked"):
        approve_bulletin(ctx, SLUG, "cli", content_hash=approved.content_hash)
    assert approve_bulletin(ctx, SLUG, "cli").state == BulletinState.DUE


def test_without_approval_a_clean_bulletin_goes_out_and_errors_still_hold(
        sample_ctx: Context) -> None:
    config = sample_ctx.settings.config_path
    config.write_text(config.read_text().replace(
        "bulletins: {path: sample/bulletins, audience: weekly}",
        "bulletins: {path: sample/bulletins, audience: weekly, approval: false}"))
    ctx = replace(sample_ctx, settings=load_settings(config))
    assert ctx.settings.bulletins is not None and not ctx.settings.bulletins.approval
    assert find_bulletin(ctx, SLUG).status.state == BulletinState.HELD
    assert run_once(ctx).sent == 5
    _fix_links(ctx)
    assert find_bulletin(ctx, SLUG).status.state == BulletinState.DUE
    assert run_once(ctx).sent == 6
    assert _published(ctx)["folder"] and _audit(ctx) == []
    ctx.close()


def test_a_rejection_needs_a_note_and_holds_until_the_file_changes(ctx: Context) -> None:
    with pytest.raises(InputError, match="note"):
        reject_bulletin(ctx, SLUG, "approver@example.org", " ")
    status = reject_bulletin(ctx, SLUG, "approver@example.org", "fill in the seven links")
    assert status.state == BulletinState.REJECTED
    assert "fill in the seven links" in status.why(ctx)
    assert run_once(ctx).sent == 5 and not _published(ctx)["folder"]
    [entry] = _audit(ctx)
    assert (entry.action, entry.reason) == ("reject", "fill in the seven links")
    _fix_links(ctx)
    assert find_bulletin(ctx, SLUG).status.state == BulletinState.DRAFT


def test_a_schedule_holds_an_approved_bulletin_until_its_time(ctx: Context) -> None:
    _fix_links(ctx)
    later = datetime(2019, 3, 20, 9, 0, tzinfo=UTC)
    with pytest.raises(InputError, match="approve it first"):
        schedule_bulletin(ctx, SLUG, "approver@example.org", later)
    with pytest.raises(InputError, match="time zone"):
        schedule_bulletin(ctx, SLUG, "approver@example.org", datetime(2019, 3, 20, 9))
    approve_bulletin(ctx, SLUG, "approver@example.org")
    status = schedule_bulletin(ctx, SLUG, "approver@example.org", later)
    assert status.state == BulletinState.SCHEDULED and status.send_at == later
    assert run_once(ctx).sent == 5 and not _published(ctx)["folder"]
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.set(later)
    assert run_once(ctx).sent == 6 and _published(ctx)["folder"]
    assert [e.action for e in _audit(ctx)] == ["schedule", "approve"]
