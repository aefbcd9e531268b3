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


class Staged(Protocol):
    """A message handed over but its last line: the server has accepted nothing yet."""

    def finish(self) -> str:
        """Send the last line; the server's answer, or the failure ``send`` would raise."""
        ...

    def abandon(self) -> None:
        """Drop the message (and its connection): nothing is delivered."""
        ...


class Stages(Protocol):
    """A transport that can hand a message over in two steps (SMTP): the outbox stages a
    connection's next message while the previous one's record is being committed, and
    sends its last line only once that commit is done (so a crash still doubles at most
    one message per connection)."""

    def stage(self, envelope: Envelope) -> Staged:
        """Everything of the message but its last line; failures as ``send`` raises them."""
        ...
