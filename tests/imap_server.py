"""A real IMAP server for the bounce tests: Debian's Dovecot, started by the test itself.

The test writes a minimal ``dovecot.conf`` in its own folder (one user from a passwd-file,
Maildir storage, listening on 127.0.0.1 on a free port, no TLS) and runs ``dovecot -F`` as
a child process, so the same fixture works on a laptop and in CI (``.ci/run`` installs
``dovecot-imapd``). Without ``dovecot`` the test is skipped loudly, or fails under
``DIGEST_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import need_service

USER, PASSWORD = "bounces", "imap-test-password"


@dataclass
class Dovecot:
    """A running Dovecot: where to reach it and a client to fill and inspect its INBOX."""

    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"imap://{USER}@127.0.0.1:{self.port}/INBOX"

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(USER, PASSWORD)
        client.select("INBOX")
        return client

    def append(self, *messages: bytes) -> None:
        """Deliver messages into the INBOX, unread (as a mail server would)."""
        client = self.client()
        try:
            for message in messages:
                kind, answer = client.append("INBOX", None, None, message)
                assert kind == "OK", answer
        finally:
            client.logout()

    def unseen(self) -> int:
        client = self.client()
        try:
            kind, found = client.uid("SEARCH", "UNSEEN")
            assert kind == "OK"
            return len(found[0].split()) if found and found[0] else 0
        finally:
            client.logout()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(root: Path, port: int) -> str:
    """A minimal configuration: everything under ``root``, one user, plain login."""
    if os.getuid() == 0:  # Dovecot never gives mail to uid 0: the mail belongs to nobody
        uid, gid, login_user = 65534, 65534, "nobody"
    else:
        uid, gid = os.getuid(), os.getgid()
        login_user = pwd.getpwuid(uid).pw_name
    os.chown(root / "mail", uid, gid)
    return f"""protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A Dovecot IMAP server of this test only, with user ``bounces``."""
    binary = shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if Path(p).exists()), None)
    if binary is None:
        need_service("Dovecot IMAP server (`dovecot`, Debian package dovecot-imapd)")
    # Not under tmp_path: pytest keeps that private to its user, and the mail processes
    # run as another user when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="digest-dovecot-"))
    root.chmod(0o755)
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir(parents=True)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = _free_port()
    (root / "dovecot.conf").write_text(_config(root, port))
    server = Dovecot(port=port, log=root / "dovecot.log")
    with (root / "output.txt").open("wb") as output:
        process = subprocess.Popen([str(binary), "-F", "-c", str(root / "dovecot.conf")],
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                server.client().logout()
                break
            except (OSError, imaplib.IMAP4.error):
                if process.poll() is not None or time.monotonic() > deadline:
                    said = (root / "output.txt").read_text(errors="replace")
                    log = server.log.read_text() if server.log.exists() else ""
                    need_service(f"Dovecot did not start: {said} {log}"[-2000:])
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
