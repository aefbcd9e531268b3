"""A transport that writes each message to a folder as an ``.eml`` file.

For trying a configuration, previews and tests: the outbox behaves as with SMTP, and the
messages can be read with any mail program.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from digest.files import make_private_dir, write_atomic
from digest.mail.envelope import Envelope, TemporaryFailure

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._@+=-]")


def eml_name(message_id: str) -> str:
    """The file name of a message in the outbox, from its Message-ID only.

    Readable when the id is made of safe characters (``<abc@host>`` → ``abc@host.eml``);
    otherwise the unsafe characters are replaced and a digest of the full id is added, so
    two different ids never share a file.
    """
    bare = message_id.strip().removeprefix("<").removesuffix(">")
    safe = _SAFE_NAME.sub("_", bare).lstrip(".")[:150]
    if safe != bare or not safe:
        safe = f"{safe}-{hashlib.sha256(message_id.encode()).hexdigest()[:16]}"
    return safe + ".eml"


class FileTransport:
    """Writes each message to ``<directory>/<name from Message-ID>.eml``, atomically.

    Sending the same Message-ID again replaces the file, so a retried delivery leaves one
    file, not two.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, envelope: Envelope) -> str:
        path = self.directory / eml_name(envelope.message_id)
        try:
            make_private_dir(self.directory)  # every member's address and links
            write_atomic(path, envelope.data, mode=0o600)
        except OSError as exc:
            raise TemporaryFailure(f"could not write {exc.filename or path}: "
                                   f"{exc.strerror or exc}") from exc
        return str(path)

    def close(self) -> None:
        """Nothing to release."""
