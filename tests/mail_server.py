"""A real SMTP server for tests (aiosmtpd in a thread) with the fault modes delivery must
survive: 421 and 451 answers, 550 for chosen addresses, a connection dropped mid-DATA, a
slow server. It records every accepted message with its Message-ID, recipients and the
connection it came over."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


@dataclass
class Accepted:
    mail_from: str
    rcpt_tos: list[str]
    message_id: str
    data: bytes
    peer: Any


@dataclass
class FaultyHandler:
    """Accepts everything unless a fault is set; thread-safe record of what arrived."""

    accepted: list[Accepted] = field(default_factory=list)
    rcpt_answers: dict[str, str] = field(default_factory=dict)  # address -> answer
    mail_answer: str | None = None  # answered to every MAIL FROM while set
    drop_data_for: set[str] = field(default_factory=set)  # close the link mid-DATA, once each
    delay: float = 0.0  # seconds before answering DATA
    sessions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook names)
            self, server: Any, session: Any, envelope: Any, hostname: str,
            responses: list[str]) -> list[str]:
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(  # noqa: N802
            self, server: Any, session: Any, envelope: Any, address: str,
            mail_options: list[str]) -> str:
        if self.mail_answer:
            return self.mail_answer
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
            self, server: Any, session: Any, envelope: Any, address: str,
            rcpt_options: list[str]) -> str:
        if address in self.rcpt_answers:
            return self.rcpt_answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
            self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        drop = [r for r in envelope.rcpt_tos if r in self.drop_data_for]
        if drop:
            with self.lock:
                self.drop_data_for.difference_update(drop)
            server.transport.abort()  # the client never sees an answer
            return "421 dropped"
        found = _MESSAGE_ID.search(envelope.original_content)
        with self.lock:
            self.accepted.append(Accepted(
                envelope.mail_from, list(envelope.rcpt_tos),
                found.group(1).decode() if found else "", envelope.original_content,
                session.peer))
            number = len(self.accepted)
        return f"250 2.0.0 Ok: queued as Q{number}"

    def recipients(self) -> list[str]:
        with self.lock:
            return sorted(r for message in self.accepted for r in message.rcpt_tos)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(handler: FaultyHandler | None = None) -> Iterator[tuple[FaultyHandler, str]]:
    """A running server and its ``smtp://127.0.0.1:PORT`` URL."""
    handler = handler or FaultyHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            data_size_limit=0)
    controller.start()
    try:
        yield handler, f"smtp://127.0.0.1:{controller.port}?timeout=10"
    finally:
        controller.stop()


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False
