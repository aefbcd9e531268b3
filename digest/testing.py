"""Test doubles shipped with the package, so tests (ours and an operator's) need no patching.

``ManualClock`` is a clock a test moves by hand: the scheduler's jobs read it, and a test
drives a whole week of schedules, a DST change or a restart without sleeping.
``MemoryTransport`` is a mail transport that keeps what it is given and answers as a test
scripts it (a 4xx now and then, a 5xx for one address), so the outbox's retries, bounces
and records are tested without a server, and without patching.
``build_settings`` gives the settings a ``schedules.yaml`` would, from a few overrides, so a
test states only what matters to it (its themes, its collect limits) and every test builds
them through the same validation as the real file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from digest.config import Settings
from digest.errors import InputError
from digest.mail.envelope import Envelope, PermanentFailure, TemporaryFailure


class ManualClock:
    """A clock that stands still until the test sets or advances it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise InputError("a manual clock needs a time zone")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise InputError("a manual clock needs a time zone")
        self._now = instant

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class MemoryTransport:
    """Records every envelope handed to it; answers ``250`` unless a reply was scripted.

    ``script(address, code, text)`` queues a reply for the next messages to that address
    (each queued reply is used once, in order; ``times`` queues it several times): a 4xx
    raises ``TemporaryFailure``, a 5xx ``PermanentFailure`` at the ``rcpt`` stage, as the
    SMTP transport does. Safe to share between sending threads."""

    def __init__(self) -> None:
        self.sent: list[Envelope] = []
        self.closed = 0
        self._replies: dict[str, list[tuple[int, str]]] = {}
        self._lock = threading.Lock()

    def script(self, address: str, code: int, text: str = "", times: int = 1) -> None:
        if not 400 <= code < 600:
            raise InputError(f"a scripted reply is a 4xx or 5xx code, not {code}")
        with self._lock:
            self._replies.setdefault(address.lower(), []).extend([(code, text)] * times)

    def send(self, envelope: Envelope) -> str:
        with self._lock:
            queued = self._replies.get(envelope.recipient.lower())
            reply = queued.pop(0) if queued else None
            if reply is None:
                self.sent.append(envelope)
                return f"250 2.0.0 queued as {len(self.sent)}"
        code, text = reply
        answer = text or ("try again later" if code < 500 else "no such user")
        message = f"{envelope.recipient}: {code} {answer}"
        if code < 500:
            raise TemporaryFailure(message, code, answer)
        raise PermanentFailure(message, code, answer, "rcpt")

    def close(self) -> None:
        with self._lock:
            self.closed += 1

    def recipients(self) -> list[str]:
        """Who received a message, in the order they were sent."""
        with self._lock:
            return [envelope.recipient for envelope in self.sent]

    def to(self, addresses: Iterable[str]) -> list[Envelope]:
        """The messages sent to any of these addresses."""
        wanted = {address.lower() for address in addresses}
        with self._lock:
            return [e for e in self.sent if e.recipient.lower() in wanted]


DEFAULT_SITE: dict[str, Any] = {
    "title": "Social Affairs Forum",
    "base_url": "https://forum.example.org/digest",
    "timezone": "Europe/Brussels",
    "sender": {"name": "Social Affairs Forum", "address": "forum@example.org"},
}


def build_settings(base_dir: Path, *, site: Mapping[str, Any] | None = None,
                   themes: Mapping[str, str | Mapping[str, Any]] | None = None,
                   **sections: Any) -> Settings:
    """Settings as ``base_dir/schedules.yaml`` would give them, validated the same way.

    ``site`` entries replace the defaults' (a forum on Brussels time); a theme is given by
    its title alone or by its settings (``{"title": ..., "aliases": [...]}``); any other
    top-level section (``collect``, ``feeds``, ``digests``...) is passed as it is.
    """
    chosen = themes if themes is not None else {"cooperation": "Cooperation"}
    return Settings.model_validate({
        "site": {**DEFAULT_SITE, **(site or {})},
        "themes": {slug: {"title": value} if isinstance(value, str) else dict(value)
                   for slug, value in chosen.items()},
        **sections,
        "config_path": base_dir / "schedules.yaml",
    })
