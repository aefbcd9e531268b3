"""A send job whose edition's variants are stored imports no rendering library.

Every worker runs send jobs, usually of an edition another worker made and stored
(``store.edition_variants``): importing Jinja, MJML and premailer for them cost each worker
0.6 s of CPU at its first send job (benchmarks/sending.py). Only ``workers.rendering``'s
rare path that renders imports them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.test_startup_imports import RENDERING

SEND_PATH = """
import sys
from digest.workers import tasks
from digest.jobs.delivery import SENDABLE
from digest.jobs.outbox import send_pending
from digest.workers.rendering import forget, variants_for
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_send_path_imports_no_rendering_library() -> None:
    result = subprocess.run([sys.executable, "-c", SEND_PATH], capture_output=True,
                            text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert {"digest", "sqlalchemy"} <= loaded  # the probe did import the send path
    assert loaded & RENDERING == set()


def test_a_workers_variants_are_checked_once_per_edition_until_a_row_lacks_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every send job of an edition asks for its variants: the first in a process checks
    them against the unfinished rows (a scan of the outbox), the next take the kept ones
    when the store's keys are still theirs; a new render with other keys, or
    ``forget_here`` (a row needed a variant they lacked), makes the next job check again."""
    from digest.models import RunReport
    from digest.store import deliveries, edition_variants
    from digest.workers import rendering
    from tests.test_delivery_outbox import RENDERED, make_ctx, members, plan

    ctx = make_ctx(tmp_path, None)
    row = plan(ctx, members(3))
    with ctx.db.transaction() as connection:
        edition_variants.save(connection, row.id, RENDERED)
    asked: list[int] = []
    real = deliveries.pending_variant_keys

    def counted(connection: Any, edition_id: int) -> list[str]:
        asked.append(edition_id)
        return real(connection, edition_id)

    monkeypatch.setattr(deliveries, "pending_variant_keys", counted)
    try:
        assert not rendering.kept_here(row.id)
        for _ in range(3):
            assert set(rendering.variants_for(ctx, row, RunReport())) == set(RENDERED)
        assert asked == [row.id] and rendering.kept_here(row.id)
        rendering.forget_here(row.id)
        assert set(rendering.variants_for(ctx, row, RunReport())) == set(RENDERED)
        assert asked == [row.id, row.id]
        renewed = {**RENDERED, "theme:housing": RENDERED["all"]}
        with ctx.db.transaction() as connection:  # another process rendered it anew
            edition_variants.save(connection, row.id, renewed)
        assert set(rendering.variants_for(ctx, row, RunReport())) == set(renewed)
        assert asked == [row.id, row.id, row.id]
        assert set(rendering.variants_for(ctx, row, RunReport())) == set(renewed)
        assert asked == [row.id, row.id, row.id]
    finally:
        rendering.forget_here(row.id)
        ctx.close()
