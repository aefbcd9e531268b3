"""What a transport is: something that hands an ``Envelope`` over and says how it went.

A transport returns the server's answer (or where the message went) once the message is
accepted, raises ``TemporaryFailure`` when a later retry may work and ``PermanentFailure``
when the message or recipient is refused for good; the outbox relies on nothing else.
"""

from __future__ import annotations

from typing import Protocol

from digest.mail.envelope import Envelope


class Transport(Protocol):
    """Something that delivers envelopes."""

    def send(self, envelope: Envelope) -> str:
        """Deliver one message; returns the server's answer or where the message went."""
        ...

    def close(self) -> None:
        """Release connections; the transport may be used again afterwards."""
        ...
