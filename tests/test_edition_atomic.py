"""An edition and its planned deliveries are stored in one transaction, on SQLite too: a
failure while planning (a full disk, a lost connection) leaves no edition behind, so the
next run makes it and sends it, instead of resuming an edition of no deliveries and
marking it sent. SQLite's driver committed the edition alone: it takes the release of a
savepoint opened first in a transaction for a COMMIT."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from digest.errors import StoreError
from digest.jobs.run import run_once
from digest.store import audience, deliveries, editions


def test_a_failure_while_planning_leaves_no_edition_and_the_next_run_sends_it(
        sample_ctx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(*_args: object, **_kwargs: object) -> int:
        raise StoreError("database error: OperationalError: database or disk is full")

    with monkeypatch.context() as failing:
        failing.setattr(audience, "plan", full_disk)
        report = run_once(sample_ctx)
    assert any("database or disk is full" in line for line in report.failures), report.failures
    with sample_ctx.db.transaction() as connection:
        assert editions.recent(connection) == [], "no edition without its deliveries"

    report = run_once(sample_ctx)
    assert report.failures == [], report.failures
    with sample_ctx.db.transaction() as connection:
        (row,) = editions.recent(connection)
        assert row.label == "weekly/1" and row.status == editions.SENT
        assert deliveries.counts(connection, row.id) == {"sent": 5}


def test_no_savepoint_splits_a_transaction_on_sqlite() -> None:
    """The class: any ``begin_nested`` opened first in a transaction commits it on SQLite
    (the driver's legacy transaction control), so the store uses none."""
    root = Path(__file__).resolve().parent.parent / "digest"
    using = [str(path.relative_to(root)) for path in root.rglob("*.py")
             if "begin_nested(" in path.read_text(encoding="utf-8")]
    assert using == []
