"""Two `digest run --once` started together on a new database (issue 9, section 5): both
finish, the members are imported once, each edition is made once and each member receives
each message once. Real processes, a real SMTP server, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_NOW, clean_sample_bulletin, reset_postgres, run_digest
from tests.mail_server import smtp_server


def _start_run(project: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    environment.update(env)
    return subprocess.Popen([sys.executable, "-m", "digest", "--now", SAMPLE_NOW, "run",
                             "--once"], cwd=project, env=environment, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
@pytest.mark.parametrize("round_", range(3))
def test_two_runs_started_together_on_a_new_database(project: Path, store: str, round_: int,
                                                      request: pytest.FixtureRequest) -> None:
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace("transport: file", "transport: smtp"))
    clean_sample_bulletin(project)
    env: dict[str, str] = {}
    if store == "postgres":
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
        env["DIGEST_DATABASE_URL"] = url
    with smtp_server() as (handler, smtp_url):
        env["DIGEST_SMTP_URL"] = smtp_url
        runs = [_start_run(project, env) for _ in range(2)]
        outcomes = [run.communicate(timeout=300) for run in runs]
        for run, (stdout, stderr) in zip(runs, outcomes, strict=True):
            assert "Traceback" not in stderr
            assert run.returncode == 0, stdout + stderr
        members = run_digest(project, "subscribers", "list", env=env).stdout.splitlines()
        assert len(members) == 6, members
        status = run_digest(project, "status", env=env).stdout
        assert status.count("weekly/1 [sent] Social Affairs weekly: 5 sent") == 1, status
        assert "weekly/2" not in status
        assert status.count("bulletin:2019-03-wg-smart-social-inclusion/1 [sent]") == 1
        received = Counter((message.message_id, tuple(message.rcpt_tos))
                           for message in handler.accepted)
        assert sum(received.values()) == 11, received  # 5 digests and 6 bulletins
        assert max(received.values()) == 1, "a member received a message twice"
