"""What a transport is handed, and how it says a delivery failed.

Kept apart from ``message`` and ``transports`` so both can use it without importing each
other; both re-export these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.errors import DeliveryError

__all__ = ["Envelope", "PermanentFailure", "SessionFailure", "TemporaryFailure"]


@dataclass(frozen=True)
class Envelope:
    """One message ready to hand over: SMTP envelope addresses and the message bytes (CRLF)."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


class TemporaryFailure(DeliveryError):  # noqa: N818 (the names say what to do)
    """Not delivered this time, worth retrying later (SMTP 4xx, connection or disk trouble).

    ``code`` is the SMTP reply code when a server answered, ``answer`` its text.
    """

    def __init__(self, message: str, code: int | None = None, answer: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.answer = answer


class SessionFailure(TemporaryFailure):
    """The server could not be used at all (connection refused, greeting or login refused,
    a 421 on a fresh connection): nothing about this recipient, and the next message would
    fail the same way, so the sender stops the batch instead of trying every row."""


class PermanentFailure(DeliveryError):  # noqa: N818
    """Refused for good (SMTP 5xx for this message or recipient): retrying will not help.

    ``stage`` says which command was refused (``mail``, ``rcpt`` or ``data``; ``address``
    when the recipient's address cannot be written in a message at all; empty otherwise),
    so a "user unknown" at ``rcpt`` or an unusable address can mark the member bounced.
    """

    def __init__(self, message: str, code: int | None = None, answer: str = "",
                 stage: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.answer = answer
        self.stage = stage
