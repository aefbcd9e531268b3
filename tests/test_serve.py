"""A real ``digest serve`` process: it catches up, serves, refuses a second scheduler on the
same database, and stops with exit code 0 on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import run_digest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(project: Path, now: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    return subprocess.Popen([sys.executable, "-m", "digest", "--now", now, "serve"],
                            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=environment)


def _wait_for_line(process: subprocess.Popen[str], needle: str, limit: float = 60) -> list[str]:
    """Read the service's output until ``needle`` (bounded: a hung service fails the test)."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} never came; got {lines}; stderr: "
                         f"{process.stderr.read() if process.stderr else ''}")


def _get_when_up(url: str, attempts: int = 100) -> httpx.Response:
    """The server binds just after saying so: retry the connection a bounded number of times."""
    for _ in range(attempts):
        try:
            return httpx.get(url, timeout=10)
        except httpx.ConnectError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def test_serve_catches_up_refuses_a_twin_and_stops_on_sigterm(project: Path) -> None:
    port = _free_port()
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace("port: 8040", f"port: {port}"))
    # 08:30 on the Monday: the 08:00 slot passed while "down", within the 6 h grace.
    service = _start(project, "2019-03-18T08:30:00+01:00")
    try:
        lines = _wait_for_line(service, "serving")
        assert any("catch-up: digest:weekly made late for 2019-03-18T08:00:00+01:00" in line
                   for line in lines), lines
        assert any("next weekly: Mon 2019-03-25 08:00" in line for line in lines), lines
        answer = _get_when_up(f"http://127.0.0.1:{port}/editions/weekly/1/")
        assert answer.status_code == 200 and "Social Affairs weekly" in answer.text
        twin = run_digest(project, "serve", now="2019-03-18T08:31:00+01:00")
        assert twin.returncode == 2
        assert "already running" in twin.stderr and "Traceback" not in twin.stderr
        service.send_signal(signal.SIGTERM)
        code = service.wait(timeout=30)
        assert code == 0, service.stderr.read() if service.stderr else code
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    status = run_digest(project, "status", now="2019-03-18T08:45:00+01:00").stdout
    assert "weekly/1 [sent]" in status
    assert "digest:weekly: next Mon 2019-03-25 08:00; last 2019-03-18 08:30 ok" in status
    assert "collect:events: next Mon 2019-03-18 09:30; last 2019-03-18 08:30 ok" in status
    # The lock died with the process: a new service starts (and stops) cleanly.
    again = _start(project, "2019-03-18T09:00:00+01:00")
    try:
        lines = _wait_for_line(again, "serving")
        assert not any("catch-up" in line for line in lines), "never twice"
        _get_when_up(f"http://127.0.0.1:{port}/feeds/")
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=30) == 0
    finally:
        if again.poll() is None:
            again.kill()
            again.wait()
