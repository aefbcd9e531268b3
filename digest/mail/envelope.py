"""What a transport is handed, and how it says a delivery failed.

Kept apart from ``message`` and ``transports`` so both can use it without importing each
other; both re-export these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.errors import DeliveryError

__all__ = ["Envelope", "PermanentFailure", "TemporaryFailure"]


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


class PermanentFailure(DeliveryError):  # noqa: N818
    """Refused for good (SMTP 5xx for this message or recipient): retrying will not help."""

    def __init__(self, message: str, code: int | None = None, answer: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.answer = answer
