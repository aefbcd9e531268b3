"""What one pass of the outbox over an edition's rows did: counted for the run's summary,
and read by a worker's send job to know whether to go on (``limited``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from digest.errors import DeliveryError


@dataclass
class SendOutcome:
    """What one pass over an edition's rows did; ``stopped`` says why it ended early."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0
    cancelled: int = 0
    bounced: int = 0
    stopped: str | None = None
    limited: bool = False  # the pass took its ``limit`` of rows; others may still be due
    held: str | None = None  # "paused" or "cancelled": a coordinator's stop, not a problem
    failures: list[str] = field(default_factory=list)
    deferral: str | None = None  # the last deferred message's answer (a full disk, a 4xx)

    def add(self, deferral: str | None = None, **changes: int) -> None:
        """Count what happened to rows (``sent=1``...), and why the last one was deferred:
        the summary says it, so an operator learns the cause without opening the store."""
        for name, number in changes.items():
            setattr(self, name, getattr(self, name) + number)
        if deferral is not None:
            self.deferral = deferral

    def problem(self, label: str) -> str | None:
        """One line for the run summary, or None when nothing went wrong."""
        if not (self.failed or self.deferred or self.stopped):
            return None
        line = f"{label}: {self.failed} refused, {self.deferred} deferred"
        if self.deferred and self.deferral:
            line += f" (last: {self.deferral})"
        if self.stopped:
            line += f"; stopped: {self.stopped}"
        return line + " (see digest status)"


class MissingVariantError(DeliveryError):
    """A claimed row's variant was not among those handed to ``send_pending`` (checked per
    row as it comes: asking every pending row's variant up front cost each send job a scan
    of the whole outbox). The row goes back to pending and the batch stops; ``outcome``
    is what the batch did before, so a worker's send job that kept stale variants can
    count it and go on (``workers.tasks.send_outbox``)."""

    def __init__(self, message: str, outcome: SendOutcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome or SendOutcome()
