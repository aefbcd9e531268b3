"""The proof of issue 13 (section 3): one `digest serve`, three `digest worker` processes on
PostgreSQL, 20 000 members over 16 variants (8 theme subsets x 2 languages), a real SMTP
server recording every copy it accepts (``tests/smtp_recorder.py``, its own process) and
the sources served over HTTP by this test, one of them slow. One worker is SIGKILLed while
it polls the slow source, another in the middle of sending; replacements are started.
Then: every planned message arrived; the only duplicates are messages whose first copy
came over a connection the killed sender had open, at most one per such connection; every
source was polled; ``digest status`` shows the edition sent, the retried jobs and the
sent count.
"""

from __future__ import annotations

import contextlib
import csv
import http.server
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_NOW, need_service, reset_postgres, run_digest
from tests.smtp_recorder import read as read_recorded

SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
MEMBERS = 20_000
# Subsets each with items in the sample edition (a subset without any gets no message).
SUBSETS = ["", "cooperation", "culture", "knowledge-society", "cooperation;economy",
           "culture;environment", "cooperation;culture", "economy;knowledge-society"]
LANGUAGES = ["en", "fr"]
SLOW = 6.0  # seconds the slow source takes to answer
SERVE_NOW = "2019-03-18T08:30:00+01:00"  # the 08:00 slot passed while "down": caught up
READY = re.compile(r"^digest: worker ready \(worker \d+, ")
FEEDS = {"/social-innovation.atom": "sample/feeds/social-innovation.atom",
         "/innovation.rss": "sample/feeds/innovation.rss",
         "/cooperation-culture.rss": "sample/feeds/cooperation-culture.rss",
         "/events.ics": "sample/events.ics",
         "/slow.rss": "sample/feeds/innovation.rss"}


class Sources(http.server.ThreadingHTTPServer):
    """The sources over HTTP; ``/slow.rss`` answers after ``SLOW`` seconds and tells who
    asked (the client's port) before it sleeps."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.slow_asked: list[int] = []
        self.slow_event = threading.Event()
        self.asked: Counter[str] = Counter()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Sources

    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        if path not in FEEDS:
            self.send_error(404)
            return
        self.server.asked[path] += 1
        if path == "/slow.rss":
            self.server.slow_asked.append(self.client_address[1])
            self.server.slow_event.set()
            time.sleep(SLOW)
        body = (ROOT / FEEDS[path]).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the poller was killed while waiting
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _tcp_ports(pid: int, remote_port: int) -> set[int]:
    """Local ports of the process's TCP connections to 127.0.0.1:``remote_port`` (from
    /proc: the sockets among its open files, matched in /proc/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if inode in inodes and int(remote.split(":")[1], 16) == remote_port and state == "01":
            ports.add(int(local.split(":")[1], 16))
    return ports


class Cluster:
    """The serve and worker processes of the project, all stopped at the end."""

    def __init__(self, project: Path, env: dict[str, str]) -> None:
        self.project = project
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        self.env.update(env)
        self.workers: list[subprocess.Popen[str]] = []
        self.others: list[subprocess.Popen[str]] = []

    def worker(self) -> subprocess.Popen[str]:
        number = len(self.workers)
        log = (self.project / f"worker-{number}.err").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "digest", "--now", SAMPLE_NOW, "worker", "--concurrency",
             "1"], cwd=self.project, env=self.env, text=True, stdout=subprocess.PIPE,
            stderr=log)
        self.workers.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert READY.match(line), (line, (self.project / f"worker-{number}.err").read_text())
        return process

    def serve(self) -> subprocess.Popen[str]:
        log = (self.project / "serve.err").open("w")
        process = subprocess.Popen([sys.executable, "-m", "digest", "--now", SERVE_NOW,
                                    "serve"], cwd=self.project, env=self.env, text=True,
                                   stdout=subprocess.DEVNULL, stderr=log)
        self.others.append(process)
        return process

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_digest(self.project, *args, env=self.env)

    def alive(self) -> list[subprocess.Popen[str]]:
        return [w for w in self.workers if w.poll() is None]

    def stop(self) -> None:
        for process in [*self.others, *self.workers]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.others, *self.workers]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until(check: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def _configure(project: Path, sources: int, smtp: int, web: int) -> None:
    with (project / "members.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "language", "digests", "themes"])
        for n in range(MEMBERS):
            writer.writerow([f"member{n:05d}@example.org", f"Member {n}",
                             LANGUAGES[n % 2], "weekly", SUBSETS[(n // 2) % len(SUBSETS)]])
    config = project / "schedules.yaml"
    text = config.read_text()
    listed = text[text.index("sources:\n"):text.index("digests:\n")]
    base = f"http://127.0.0.1:{sources}"
    text = text.replace(listed, "sources:\n" + "".join(
        f"  - {{id: {path.strip('/').split('.')[0]}, type: "
        f"{'ical' if path.endswith('.ics') else 'feed'}, url: {base}{path}, every: 30m"
        f"{', kind: event' if path.endswith('.ics') else ''}}}\n" for path in FEEDS)
        + "  - {id: notes, type: folder, path: sample/items, every: 1h}\n\n")
    for old, new in (("transport: file", "transport: smtp"), ("rate: 20/s", "rate: 100000/s"),
                     ("import: sample/subscribers.csv", "import: members.csv"),
                     ("port: 8040", f"port: {web}")):
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text + "workers: {enabled: true, send_jobs: 4, batch: 500}\n")


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    from tests.mail_server import free_port

    port, path = free_port(), tmp_path / "recorded.tsv"
    process = subprocess.Popen([sys.executable, "-m", "tests.smtp_recorder", str(port),
                                str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield port, path
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.postgres
def test_serve_and_three_workers_survive_sigkill_mid_poll_and_mid_send(
        project: Path, postgres_url: str, recorder: tuple[int, Path]) -> None:
    try:
        import procrastinate  # noqa: F401

        from digest.workers import worker  # noqa: F401
    except ImportError as exc:
        need_service(f"the workers (digest worker, procrastinate): {exc}")
    from tests.mail_server import free_port

    smtp_port, recorded = recorder
    sources = Sources()
    threading.Thread(target=sources.serve_forever, daemon=True).start()
    reset_postgres(postgres_url)
    _configure(project, sources.server_address[1], smtp_port, free_port())
    cluster = Cluster(project, {"DIGEST_DATABASE_URL": postgres_url,
                                "DIGEST_SECRET_KEY": SECRET,
                                "DIGEST_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}?timeout=30"})
    killed_mid_send: set[int] = set()
    try:
        assert cluster.run("db", "upgrade").returncode == 0
        for _ in range(3):
            cluster.worker()
        cluster.serve()

        # 1. SIGKILL the worker polling the slow source, while it waits for the answer.
        assert sources.slow_event.wait(120), "the slow source was never polled"
        asked_from = sources.slow_asked[0]
        [poller] = [w for w in cluster.alive()
                    if asked_from in _tcp_ports(w.pid, sources.server_address[1])]
        poller.kill()
        poller.wait()
        cluster.worker()

        # 2. SIGKILL a worker in the middle of sending (one with SMTP connections open).
        _wait_until(lambda: len(read_recorded(recorded)) >= MEMBERS // 4,
                    "a quarter of the messages", timeout=300)
        deadline = time.monotonic() + 60  # between two send jobs a worker holds none
        while not killed_mid_send and time.monotonic() < deadline:
            for sender in cluster.alive():
                if ports := _tcp_ports(sender.pid, smtp_port):
                    sender.kill()
                    killed_mid_send = ports
                    sender.wait()
                    break
        assert killed_mid_send, "no worker had an SMTP connection open"
        cluster.worker()

        _wait_until(lambda: "weekly/1 [sent]" in cluster.run("status").stdout,
                    "the edition to be sent", timeout=400)
        _wait_until(lambda: _polled(postgres_url, "slow"), "the slow source's retry",
                    timeout=120)
        status = cluster.run("status")
        (project / "status.txt").write_text(status.stdout)
    finally:
        cluster.stop()
        sources.shutdown()

    planned = _planned(postgres_url)
    copies = Counter((message_id, email) for message_id, email, _ in read_recorded(recorded))
    assert len(planned) >= MEMBERS and len({k for k, _ in planned.values()}) == 16
    assert {(message_id, email) for message_id, (_, email) in planned.items()} == set(copies), \
        "every planned message arrived, and nothing else"
    doubled = {key: n for key, n in copies.items() if n > 1}
    first_port: dict[tuple[str, str], int] = {}
    for message_id, email, port in read_recorded(recorded):
        first_port.setdefault((message_id, email), port)
    assert sum(n - 1 for n in doubled.values()) <= len(killed_mid_send)
    assert all(first_port[key] in killed_mid_send for key in doubled), \
        "a duplicate's first copy came over a connection of the killed sender"
    assert len({first_port[key] for key in doubled}) == len(doubled), \
        "at most one duplicate per connection"

    out = status.stdout
    assert "weekly/1 [sent]" in out and f"{MEMBERS} sent" in out, out
    assert re.search(r"digest.poll_source: .*; [1-9]\d* retried", out), out
    assert re.search(r"digest.send_outbox: .*; [1-9]\d* retried", out), out
    assert not re.search(r"[1-9]\d* failed;", out), out
    for source in [*(p.strip("/").split(".")[0] for p in FEEDS), "notes"]:
        assert _polled(postgres_url, source), f"{source} was never polled successfully"


def _planned(url: str) -> dict[str, tuple[str, str]]:
    """Every delivery row: Message-ID -> (variant, address); all must be sent."""
    from sqlalchemy import select

    from digest.store import Database
    from digest.store.schema import deliveries, subscribers

    database = Database(url)
    try:
        with database.transaction() as c:
            rows = c.execute(select(deliveries.c.message_id, deliveries.c.variant_key,
                                    deliveries.c.status, subscribers.c.email)
                             .join(subscribers,
                                   subscribers.c.id == deliveries.c.subscriber_id)).all()
    finally:
        database.close()
    assert Counter(row.status for row in rows) == {"sent": len(rows)}
    return {row.message_id: (row.variant_key, row.email) for row in rows}


def _polled(url: str, source: str) -> bool:
    from sqlalchemy import select

    from digest.store import Database
    from digest.store.schema import sources

    database = Database(url)
    try:
        with database.transaction() as c:
            return c.execute(select(sources.c.last_success)
                             .where(sources.c.id == source)).scalar() is not None
    finally:
        database.close()


def test_the_recorder_counts_each_accepted_copy(tmp_path: Path) -> None:
    """The recorder itself: two copies of one message are two lines."""
    import smtplib

    from tests.mail_server import free_port

    port, path = free_port(), tmp_path / "r.tsv"
    process = subprocess.Popen([sys.executable, "-m", "tests.smtp_recorder", str(port),
                                str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        with smtplib.SMTP("127.0.0.1", port) as client:
            for _ in range(2):
                client.sendmail("a@x.org", ["b@x.org"],
                                b"Message-ID: <1@x>\r\nSubject: s\r\n\r\nbody\r\n")
    finally:
        process.terminate()
        process.wait(timeout=30)
    rows = read_recorded(path)
    assert [(m, r) for m, r, _ in rows] == [("<1@x>", "b@x.org")] * 2
    assert rows[0][2] == rows[1][2] > 0  # one connection

