"""A send job whose edition's variants are stored imports no rendering library.

Every worker runs send jobs, usually of an edition another worker made and stored
(``store.edition_variants``): importing Jinja, MJML and premailer for them cost each worker
0.6 s of CPU at its first send job (benchmarks/sending.py). Only ``workers.rendering``'s
rare path that renders imports them.
"""

from __future__ import annotations

import subprocess
import sys

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
