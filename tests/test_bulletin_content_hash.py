"""An approval covers the bytes that are sent: a bulletin's state is judged on the hash of
the bytes the loader parsed, never on a second read of its file. A file swapped between
the run's read and the state check (monkeypatched in between) stays unapproved."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from digest.bulletins import load_bulletin
from digest.jobs.bulletin_state import BulletinState, BulletinStatus
from digest.jobs.context import Context
from digest.jobs.problems import bulletin_problems
from digest.jobs.review import approve_bulletin, bulletin_states, find_bulletin
from digest.jobs.run import run_once
from digest.store import editions
from tests.conftest import SAMPLE_BULLETIN_SLUG

SLUG = SAMPLE_BULLETIN_SLUG


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
TARGET = f"bulletin:{SLUG}"


def _file(ctx: Context) -> Path:
    return ctx.settings.resolve(ctx.settings.bulletins.path) / f"{SLUG}.md"  # type: ignore[union-attr]


def test_the_loader_carries_the_hash_of_the_bytes_it_parsed(sample_ctx: Context) -> None:
    path = _file(sample_ctx)
    for text in (path.read_text(), path.read_text() + "\nOne more line.\n",
                 "\ufeff" + path.read_text().replace("\n", "\r\n")):
        path.write_bytes(text.encode())
        bulletin = load_bulletin(path, sample_ctx.settings)
        assert bulletin.content_hash == content_hash(path.read_bytes())


def _swap_after_parse(monkeypatch: pytest.MonkeyPatch, path: Path, approved: bytes) -> None:
    """Put the approved bytes back in the file once the bulletin was parsed, before its
    state is judged (the lint runs in between)."""
    def lint_then_swap(*args: Any) -> Any:
        path.write_bytes(approved)
        return bulletin_problems(*args)

    monkeypatch.setattr("digest.jobs.bulletin_state.bulletin_problems", lint_then_swap)


def test_a_file_swapped_after_it_was_parsed_is_not_sent_under_the_approval(
        sample_ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx, path = sample_ctx, _file(sample_ctx)
    path.write_text(path.read_text().replace("](#)", "](https://www.eurocities.eu/)"))
    approved_bytes = path.read_bytes()
    assert approve_bulletin(ctx, SLUG, "cli").state == BulletinState.DUE
    unapproved = approved_bytes + b"\nA sentence nobody approved.\n"
    def one(ctx: Context) -> BulletinStatus:
        return find_bulletin(ctx, SLUG).status

    def listed(ctx: Context) -> BulletinStatus:
        return next(s for s in bulletin_states(ctx) if s.slug == SLUG)

    judges: tuple[Callable[[Context], BulletinStatus], ...] = (one, listed)
    for judge in judges:
        path.write_bytes(unapproved)
        with monkeypatch.context() as patch:
            _swap_after_parse(patch, path, approved_bytes)
            status = judge(ctx)
        assert status.state == BulletinState.DRAFT
        assert status.content_hash == content_hash(unapproved)
    path.write_bytes(unapproved)
    _swap_after_parse(monkeypatch, path, approved_bytes)
    report = run_once(ctx)
    assert f"{TARGET}: draft" in "\n".join(report.notes)
    with ctx.db.transaction() as connection:
        assert editions.latest(connection, TARGET) is None
