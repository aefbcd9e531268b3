"""Commands that render nothing start without the rendering and serving libraries.

``digest status``, ``digest collect`` and ``digest worker`` waiting for jobs must start
quickly and small (issue 13, section 4; benchmarks/startup.py measures how quickly): the
libraries that render (Jinja, MJML, premailer, WeasyPrint, feedgen, Markdown), serve
(Starlette, uvicorn) or migrate (Alembic) are imported where that work happens, not on
these commands' path. Each command runs as a user starts it, in a fresh process under
``python -X importtime``, which lists every module the process imported: a top-level
``import weasyprint`` added to a module on that path makes these tests fail.

The same holds for what these commands need only for a rare input (``LAZY``): the sample's
plain addresses and cron expression are checked without email-validator or APScheduler,
SQLite commands load none of PostgreSQL's modules, a worker (on PostgreSQL) no SQLite, and
``collect`` not httpx's command line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_NOW, reset_postgres

# Top-level packages that only rendering, serving or migrating needs.
RENDERING = frozenset({
    "weasyprint", "premailer", "cssutils", "mjml", "jinja2", "feedgen", "lxml",
    "markdown_it", "frontmatter", "starlette", "uvicorn", "multipart", "python_multipart",
    "alembic",
})
# A folder source's notes are Markdown with front matter: reading them is collecting.
COLLECT_READS = frozenset({"markdown_it", "frontmatter"})
# Loaded only for an address that is not plain (digest.config.addresses) or to schedule
# (digest.cron): `status` shows the next runs, so it loads APScheduler (`SCHEDULING`).
LAZY = frozenset({"email_validator", "apscheduler"})
SCHEDULING = frozenset({"apscheduler"})
# PostgreSQL's driver and SQLAlchemy's dialect for it (its own modules, not the package);
# SQLite's driver, which a command on PostgreSQL does not load.
POSTGRESQL = frozenset({"psycopg", "sqlalchemy.dialects.postgresql"})
SQLITE = frozenset({"sqlite3", "_sqlite3"})
# httpx's own command line, which it imports when installed (digest.sources keeps it out);
# its click is not listed: x_wr_timezone imports click too, once an iCalendar is read.
HTTPX_CLI = frozenset({"pygments", "rich"})


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This checkout's code (an absolute PYTHONPATH), no DIGEST_* setting from outside."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(extra or {})
    return environment


def _command(*args: str) -> list[str]:
    return [sys.executable, "-X", "importtime", "-m", "digest", "--now", SAMPLE_NOW, *args]


def modules(stderr: str) -> set[str]:
    """The modules named in ``-X importtime`` output."""
    found = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                found.add(name)
    return found


def imported(stderr: str) -> set[str]:
    """The top-level packages named in ``-X importtime`` output."""
    return {name.split(".")[0] for name in modules(stderr)}


def postgresql_modules(stderr: str) -> set[str]:
    """The modules of ``POSTGRESQL`` (packages and what is under them) in the output."""
    return {name for name in modules(stderr)
            if any(name == top or name.startswith(f"{top}.") for top in POSTGRESQL)}


def traced(project: Path, *args: str, env: dict[str, str] | None = None,
           ) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``digest ARGS`` in ``project`` under ``-X importtime``: the result and what
    it imported."""
    done = subprocess.run(_command(*args), cwd=project, capture_output=True, text=True,
                          env=_environment(env), timeout=300, check=False)
    return done, imported(done.stderr)


@pytest.fixture
def quiet_project(project: Path) -> Path:
    """The sample without its bulletins (``status`` renders each bulletin to lint it) and
    without its folder of Markdown notes."""
    config = project / "schedules.yaml"
    text = config.read_text()
    lines = [line for line in text.splitlines()
             if not line.startswith("bulletins:") and "type: folder" not in line]
    assert len(lines) == len(text.splitlines()) - 2, "the sample's config changed: adapt"
    config.write_text("\n".join(lines) + "\n")
    return project


def test_the_trace_sees_every_import(tmp_path: Path) -> None:
    """What the checks below rely on: a library imported inside a function is listed."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "def f():\n import jinja2\nf()"],
        capture_output=True, text=True, env=_environment(), timeout=60, check=True)
    assert "jinja2" in imported(done.stderr)


def _make_store(project: Path) -> None:
    """The first command makes the store and records its revision (with Alembic): the
    commands below are measured on a store that exists, as every later start is."""
    made = subprocess.run([sys.executable, "-m", "digest", "status"], cwd=project,
                          capture_output=True, text=True, env=_environment(), timeout=300,
                          check=False)
    assert made.returncode == 0, made.stderr[-2000:]


def test_status_imports_no_rendering_library(quiet_project: Path) -> None:
    _make_store(quiet_project)
    done, loaded = traced(quiet_project, "status")
    assert done.returncode == 0, done.stderr[-2000:]
    assert {"digest", "sqlalchemy"} <= loaded  # the trace saw the command's own imports
    assert not loaded & RENDERING, f"`digest status` imported {sorted(loaded & RENDERING)}"
    unwanted = loaded & (LAZY - SCHEDULING)
    assert not unwanted, f"`digest status` imported {sorted(unwanted)}"
    assert loaded >= SCHEDULING  # the trace sees what loads lazily (the next runs)
    assert not postgresql_modules(done.stderr), "`digest status` on SQLite loaded PostgreSQL's"


def test_collect_imports_no_rendering_library(quiet_project: Path) -> None:
    _make_store(quiet_project)
    done, loaded = traced(quiet_project, "collect")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "source social-innovation:" in done.stdout  # it polled
    assert "httpx" in loaded
    unwanted = loaded & ((RENDERING - COLLECT_READS) | LAZY | HTTPX_CLI)
    assert not unwanted, f"`digest collect` imported {sorted(unwanted)}"
    assert not postgresql_modules(done.stderr), "`digest collect` on SQLite loaded PostgreSQL's"


def _has_worker_command() -> bool:
    from digest.cli import build_parser

    try:
        build_parser().parse_args(["worker", "--help"])
    except SystemExit as exc:
        return exc.code == 0
    return True


def test_worker_waiting_imports_no_rendering_library(quiet_project: Path,
                                                     postgres_url: str) -> None:
    """A worker that has taken no job yet: ready, then stopped by SIGTERM."""
    if not _has_worker_command():
        pytest.skip("`digest worker` is not in this version yet")
    reset_postgres(postgres_url)
    config = quiet_project / "schedules.yaml"
    config.write_text(config.read_text() + "\nworkers: {enabled: true}\n")
    env = {"DIGEST_DATABASE_URL": postgres_url,  # a worker needs the machines' shared key
           "DIGEST_SECRET_KEY": "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"}
    upgraded = subprocess.run([sys.executable, "-m", "digest", "db", "upgrade"],
                              cwd=quiet_project, capture_output=True, text=True,
                              env=_environment(env), timeout=300, check=False)
    assert upgraded.returncode == 0, upgraded.stderr[-2000:]
    worker = subprocess.Popen(_command("worker"), cwd=quiet_project, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=_environment(env))
    try:
        assert worker.stdout is not None
        for line in worker.stdout:
            if "worker ready" in line:
                break
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, stderr[-2000:]
    loaded = imported(stderr)
    assert "digest" in loaded
    unwanted = loaded & (RENDERING | LAZY | SQLITE)
    assert not unwanted, f"`digest worker` imported {sorted(unwanted)}"
