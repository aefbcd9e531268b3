"""Counting each key's recent events in this process's memory, with the keys bounded.

The web app limits requests per client address (sign-in links, subscribing) and
confirmation mails per address, in memory (one process). A key's events older than the
window are dropped as it is used, and the keys are kept in the order they were last used,
so the quietest are at the front and are forgotten first, a few at a time: a check costs
the same whether ten or a hundred thousand clients came (the cost must not grow with the
number of addresses a visitor can use: IPv6 gives each of them 2^64). Beyond ``max_keys``
keys the quietest are forgotten even before their window ends, so memory stays bounded;
such a key starts its count again, the price of the bound.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

MAX_KEYS = 10_000


class RecentEvents:
    """At most ``limit`` events per ``window`` seconds per key, for ``max_keys`` keys."""

    def __init__(self, limit: int, window: float, max_keys: int = MAX_KEYS) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()  # O(1) at its front
        self._lock = threading.Lock()  # the mail limit is checked from worker threads

    def allow(self, key: str, now: float) -> bool:
        """Whether one more event of ``key`` at ``now`` (seconds) is within the limit;
        if so it is counted."""
        with self._lock:
            seen = self._seen.pop(key, None) or deque()
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            allowed = len(seen) < self.limit
            if allowed:
                seen.append(now)
            if seen:
                self._seen[key] = seen  # last: the most recently used
            self._forget(now)
            return allowed

    def __len__(self) -> int:
        return len(self._seen)

    def _forget(self, now: float) -> None:
        """Drop the front keys while they are quiet (no event within the window) or while
        there are more than ``max_keys``."""
        while self._seen:
            events = next(iter(self._seen.values()))
            if len(self._seen) <= self.max_keys and events[-1] > now - self.window:
                return
            self._seen.popitem(last=False)
