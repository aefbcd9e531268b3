"""Delivery as an operator sees it, through the real `digest` command and a real SMTP
server: a refused address shows in `digest status` with the server's answer, a session
failure stops the batch, `--retry-failed` queues failed messages again; and TLS (STARTTLS
and implicit) with a certificate made for the test."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from digest.mail.transports import SessionFailure, SmtpTransport
from tests.conftest import approve_sample_bulletin, run_digest
from tests.mail_server import FaultyHandler, free_port, smtp_server, wait_for
from tests.test_mail_transports import envelope_for


def _smtp_project(project: Path) -> None:
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace("transport: file", "transport: smtp"))


def test_a_refused_address_is_reported_and_can_be_retried(project: Path) -> None:
    _smtp_project(project)
    refused = "anna.kowalska@example.org"  # follows every theme
    handler = FaultyHandler(rcpt_answers={refused: "550 5.7.1 relaying denied for now"})
    with smtp_server(handler) as (_, url):
        env = {"DIGEST_SMTP_URL": url}
        approve_sample_bulletin(project, env)
        first = run_digest(project, "run", "--once", env=env)
        assert first.returncode == 1
        assert "weekly/1: 1 refused, 0 deferred (see digest status)" in first.stdout
        status = run_digest(project, "status", env=env).stdout
        assert f"failed: {refused} (1 attempt): " in status
        assert "550 5.7.1 relaying denied for now" in status
        assert "digest send weekly/1 --retry-failed" in status
        handler.rcpt_answers.clear()
        retried = run_digest(project, "send", "weekly/1", "--retry-failed", env=env)
        assert retried.returncode == 0, retried.stdout + retried.stderr
        assert "weekly/1: 1 failed message queued again" in retried.stdout
        assert "weekly/1: 1 sent, 0 refused, 0 deferred" in retried.stdout
        after = run_digest(project, "status", env=env).stdout
        assert "weekly/1 [sent] Social Affairs weekly: 5 sent" in after
        assert after.count(f"failed: {refused}") == 1  # the bulletin's, not retried
        # A policy refusal is not a dead address: the member stays active.
        assert f"{refused}\tactive\t" in run_digest(project, "subscribers", "list",
                                                        env=env).stdout
    assert handler.recipients().count(refused) == 1


def test_a_deferred_message_says_why_in_the_summary_and_the_status(project: Path) -> None:
    _smtp_project(project)
    later = "anna.kowalska@example.org"
    handler = FaultyHandler(rcpt_answers={later: "451 4.7.1 greylisted, try again later"})
    with smtp_server(handler) as (_, url):
        env = {"DIGEST_SMTP_URL": url}
        first = run_digest(project, "run", "--once", env=env)
        assert first.returncode == 1
        assert "weekly/1: 0 refused, 1 deferred (last: " in first.stdout
        assert "greylisted, try again later) (see digest status)" in first.stdout
        status = run_digest(project, "status", env=env).stdout
        assert "    deferred: 1 message; last: " in status
        assert "451 4.7.1 greylisted, try again later" in status


def test_a_server_that_is_down_stops_the_run_and_keeps_everything_pending(
        project: Path) -> None:
    _smtp_project(project)
    env = {"DIGEST_SMTP_URL": f"smtp://127.0.0.1:{free_port()}?timeout=2"}
    approve_sample_bulletin(project, env)
    result = run_digest(project, "run", "--once", env=env)
    assert result.returncode == 1
    assert "stopped: 127.0.0.1:" in result.stdout and "cannot connect" in result.stdout
    status = run_digest(project, "status", env=env).stdout
    assert "weekly/1 [sending] Social Affairs weekly: 5 pending" in status
    with smtp_server() as (handler, url):
        later = run_digest(project, "run", "--once", env={"DIGEST_SMTP_URL": url})
        assert later.returncode == 0, later.stdout + later.stderr
        status = run_digest(project, "status", env={"DIGEST_SMTP_URL": url}).stdout
    assert "weekly/1 [sent] Social Affairs weekly: 5 sent" in status
    ids = [message.message_id for message in handler.accepted]
    assert len(ids) == len(set(ids)) == 11  # weekly/1 to five, the bulletin to all six


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return key, cert


def _contexts(certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key, cert = certificate
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def test_starttls_is_spoken_and_required(tmp_path: Path,
                                         certificate: tuple[Path, Path]) -> None:
    server_context, client_context = _contexts(certificate)
    handler = FaultyHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            tls_context=server_context, require_starttls=True)
    controller.start()
    try:
        url = f"smtp://127.0.0.1:{controller.port}?starttls=1&timeout=10"
        with SmtpTransport(url, ssl_context=client_context) as transport:
            assert transport.send(envelope_for(tmp_path)).startswith("250")
        plain = SmtpTransport(f"smtp://127.0.0.1:{controller.port}?timeout=10")
        with pytest.raises(SessionFailure, match=r"530"):
            plain.send(envelope_for(tmp_path))  # the server insists on TLS first
        plain.close()
    finally:
        controller.stop()
    assert len(handler.accepted) == 1


def test_implicit_tls_smtps(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    server_context, client_context = _contexts(certificate)
    handler = FaultyHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port,
                            ssl_context=server_context)
    controller.start()
    try:
        with SmtpTransport(f"smtps://127.0.0.1:{port}?timeout=10",
                           ssl_context=client_context) as transport:
            transport.send(envelope_for(tmp_path))
        assert wait_for(lambda: len(handler.accepted) == 1)
        untrusted = SmtpTransport(f"smtps://127.0.0.1:{port}?timeout=10")
        with pytest.raises(SessionFailure, match=r"cannot connect.*CERTIFICATE"):
            untrusted.send(envelope_for(tmp_path))  # an unknown certificate is refused
        untrusted.close()
    finally:
        controller.stop()


def test_sigterm_finishes_the_messages_in_flight_and_leaves_the_rest_pending(
        project: Path) -> None:
    import os
    import signal
    import sys
    from collections import Counter

    _smtp_project(project)
    members = project / "members.csv"
    members.write_text("email,name\n" + "".join(f"m{n:03d}@example.org,M {n}\n"
                                                for n in range(120)))
    with smtp_server() as (handler, url):
        env = {"DIGEST_SMTP_URL": url}
        assert run_digest(project, "subscribers", "import", str(members), env=env).returncode == 0
        approve_sample_bulletin(project, env)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        environment.update(env)
        process = subprocess.Popen(
            [sys.executable, "-m", "digest", "--now", "2019-03-18T08:00:00+01:00", "run",
             "--once"], cwd=project, env=environment, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        assert wait_for(lambda: len(handler.accepted) >= 20, 60)  # 20/s: well under way
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 1, err  # done, with the stop reported
        assert "stopped: asked to stop (SIGTERM); unsent messages stay pending" in out
        stopped_at = len(handler.accepted)
        status = run_digest(project, "status", env=env).stdout
        assert "sending" not in status.split("editions:")[-1].replace("[sending]", "")
        assert " pending" in status
        assert f"messages sent: {stopped_at}" in out  # every accepted message was recorded
        finished = run_digest(project, "run", "--once", env=env)
        assert finished.returncode == 0, finished.stdout + finished.stderr
    received = Counter(message.message_id for message in handler.accepted)
    assert max(received.values()) == 1  # a graceful stop doubles nothing
    assert len(received) == 240  # the bulletin and weekly/1 to each of the 120
