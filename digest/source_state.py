"""What the next poll of a source keeps from the last one (validators, a permanent move,
why it stopped): read and written by the store, used by the pollers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceState:
    """What the next poll of a source needs from the last one, kept in the store.

    ``location`` is the configured URL or path this state belongs to: when the config
    changes it, the state starts afresh. ``url`` is where a permanent redirect moved the
    source; ``etag`` and ``last_modified`` are the validators of the last answer that was
    stored, sent back so that an unchanged feed costs one "304 Not Modified";
    ``disabled`` says why polling stopped (the server said the feed is gone).
    ``fingerprint`` names the settings the stored items were read with: when they change,
    the validators are dropped so the next poll reads and files the items again.
    """

    location: str
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    disabled: str | None = None
    fingerprint: str | None = None

    def applies_to(self, location: str) -> bool:
        return self.location == location
