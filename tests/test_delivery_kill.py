"""Crash safety, proven the hard way: `digest run --once` sending to a real SMTP server
(aiosmtpd in this process) is killed with SIGKILL at random moments, several times, then
run to completion. Every (edition, member) must have been received, and duplicates are
allowed only for messages the server accepted in the instant before a kill: at most one
per connection per kill."""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from digest.store import Database
from digest.store.schema import deliveries, editions, subscribers
from tests.conftest import SAMPLE_NOW, approve_sample_bulletin, run_digest
from tests.mail_server import smtp_server

MEMBERS = 300
KILLS = 6
CONCURRENCY = 4
THEMES = ["cooperation", "knowledge-society", "economy", "culture", "environment"]


def _members_csv(path: Path, seed: int) -> None:
    chooser = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "language", "digests", "themes"])
        for n in range(MEMBERS):
            themes = chooser.sample(THEMES, chooser.choice([0, 0, 1, 2]))
            writer.writerow([f"member{n:03d}@example.org", f"Member {n}", "en", "weekly",
                             ";".join(themes)])


def _planned(project: Path) -> dict[str, str]:
    """Every planned delivery as Message-ID → status, read from the store."""
    from sqlalchemy import select

    from digest.config import Settings, load_settings
    from digest.mail.message import make_message_id
    from digest.tokens import load_or_create_secret

    settings: Settings = load_settings(project / "schedules.yaml")
    database = Database(f"sqlite:///{project / 'var' / 'digest.db'}")
    try:
        with database.transaction() as c:
            rows = c.execute(
                select(editions.c.digest_id, editions.c.number, subscribers.c.email,
                       deliveries.c.status)
                .join(editions, editions.c.id == deliveries.c.edition_id)
                .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)).all()
    finally:
        database.close()
    key = load_or_create_secret(project / "var", None)  # the runs' own key
    return {make_message_id(settings, f"{row.digest_id}/{row.number}", row.email, key):
            row.status for row in rows}


def test_sigkill_at_random_moments_loses_nothing_and_doubles_at_most_one_per_connection(
        project: Path) -> None:
    seed = int(os.environ.get("DIGEST_KILL_SEED", "20190318"))
    chooser = random.Random(seed)
    config = project / "schedules.yaml"
    config.write_text(config.read_text()
                      .replace("transport: file", "transport: smtp")
                      # the default 20/s: about half a minute of sending, so most kills
                      # land while messages are on the wire
                      .replace("concurrency: 4", f"concurrency: {CONCURRENCY}"))
    _members_csv(project / "members.csv", seed)
    with smtp_server() as (handler, url):
        env = {"DIGEST_SMTP_URL": url}
        imported = run_digest(project, "subscribers", "import", "members.csv", env=env)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        approve_sample_bulletin(project, env)
        command = [sys.executable, "-m", "digest", "--now", SAMPLE_NOW, "run", "--once"]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        environment.update(env)
        kills, log = 0, []
        for _ in range(KILLS * 2):
            if kills == KILLS:
                break
            before = len(handler.accepted)
            process = subprocess.Popen(command, cwd=project, env=environment,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            delay = chooser.uniform(1.5, 8.0)
            time.sleep(delay)
            finished = process.poll() is not None
            if not finished:
                process.kill()
                kills += 1
            process.wait()
            log.append(f"after {delay:.2f}s: {'finished' if finished else 'killed'}, "
                       f"{len(handler.accepted) - before} accepted")
            if finished and len(handler.accepted) == before:
                break  # a whole run had nothing left to send
        final = subprocess.run(command, cwd=project, env=environment, capture_output=True,
                               text=True, timeout=300, check=False)
        assert final.returncode == 0, final.stdout + final.stderr
        again = subprocess.run(command, cwd=project, env=environment, capture_output=True,
                               text=True, timeout=300, check=False)
        assert "messages sent: 0" in again.stdout
        received = Counter(message.message_id for message in handler.accepted)
    planned = _planned(project)
    # The bulletin to everyone, the weekly edition to those whose variant is not empty.
    assert len(planned) > MEMBERS * 3 // 2
    assert set(planned.values()) == {"sent"}
    missing = set(planned) - set(received)
    assert not missing, f"{len(missing)} planned messages never arrived"
    assert set(received) <= set(planned)  # nothing that was not planned
    duplicates = sum(count - 1 for count in received.values())
    summary = (f"seed {seed}: {kills} kills, {len(planned)} messages, {duplicates} duplicates "
               f"(allowed {kills * CONCURRENCY}); " + "; ".join(log))
    print(summary)
    assert kills >= 3, summary
    assert duplicates <= kills * CONCURRENCY, summary
