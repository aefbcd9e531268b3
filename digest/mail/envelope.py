"""What a transport is handed, and how it says a delivery failed.

Kept apart from ``message`` and ``transports`` so both can use it without importing each
other; both re-export these names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from digest.errors import DeliveryError

__all__ = ["Envelope", "PermanentFailure", "SessionFailure", "TemporaryFailure"]

# A dot-atom address with an ASCII host name: what nearly every member has, written the
# same in a header and in the SMTP envelope, so both may skip the email package's parser
# (most of a message's cost otherwise); tests check they give that parser's result.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
SIMPLE_ADDRESS = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@({_LABEL}(?:\.{_LABEL})*)")
SIMPLE_NAME = re.compile(rf"{_ATEXT}(?: {_ATEXT})*")


@dataclass(frozen=True)
class Envelope:
    """One message ready to hand over: SMTP envelope addresses and the message bytes (CRLF).

    ``wire`` is ``data`` as SMTP's DATA carries it before the final ``.`` (every line
    ending with CRLF, a line starting with a dot given a second), when the builder made it
    (``MessageFactory``, from a variant's pieces stuffed once): the SMTP transport sends it
    as it is instead of searching the whole message per member (a tenth of a send's CPU).
    Without it the transport stuffs ``data`` itself."""

    sender: str
    recipient: str
    message_id: str
    data: bytes
    wire: bytes | None = None


def dot_stuffed(lines: bytes) -> bytes:
    """CRLF-ended ``lines`` that begin at the start of a line, each line starting with a
    dot given a second one (RFC 5321 4.5.2). A message made of such pieces may be stuffed
    piece by piece: ``MessageFactory`` stuffs a variant's fixed pieces once, so a message's
    45 kB are not searched again per member."""
    out = lines.replace(b"\r\n.", b"\r\n..") if b"\n." in lines else lines
    return b"." + out if out.startswith(b".") else out


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
