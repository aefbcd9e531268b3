"""An SMTP server in its own process that accepts everything and records each message as
one line ``Message-ID<TAB>recipient<TAB>client port``, flushed before the 250: a line per
accepted copy, so duplicates and losses can be counted after senders were killed.

Run: ``python -m tests.smtp_recorder PORT FILE``; prints ``ready`` once it listens. In its
own process so the test's threads and the recorder do not share one interpreter lock.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


class Recorder:
    """aiosmtpd's handler: one line per accepted (message, recipient)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
            self, server: Any, session: Any, envelope: Any) -> str:
        head = envelope.original_content.partition(b"\r\n\r\n")[0]
        found = _MESSAGE_ID.search(head)
        message_id = found.group(1).decode() if found else "-"
        port = session.peer[1] if isinstance(session.peer, tuple) else 0
        for recipient in envelope.rcpt_tos:
            self.out.write(f"{message_id}\t{recipient}\t{port}\n")
        self.out.flush()
        return "250 2.0.0 Ok: recorded"


def read(path: Path) -> list[tuple[str, str, int]]:
    """The recorded lines as (Message-ID, recipient, client port)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        message_id, recipient, port = line.split("\t")
        rows.append((message_id, recipient, int(port)))
    return rows


def main(port: int, path: Path) -> None:
    with path.open("a", encoding="utf-8") as out:
        controller = Controller(Recorder(out), hostname="127.0.0.1", port=port,
                                data_size_limit=0)
        controller.start()
        print("ready", flush=True)
        try:
            threading.Event().wait()
        finally:
            controller.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
