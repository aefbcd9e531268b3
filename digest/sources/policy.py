"""The limits and manners of one poll over HTTP, as plain numbers.

The fetcher reads every limit from a ``FetchPolicy`` instead of from settings or module
constants, and asks it for the time and for sleeping: tests give a policy with a short
timeout and a sleep that only records the back-off it was asked for, so they never wait for
real and never depend on how fast the machine is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from digest import __version__
from digest.config import CollectSettings, Settings
from digest.sources.addresses import AddressCheck, private_address_problem

DEFAULTS = CollectSettings()
MAX_BYTES = DEFAULTS.max_bytes
"""The default cap on one document: a feed or a calendar is never legitimately bigger."""
MAX_RETRY_AFTER = 600.0
"""The longest "Retry-After" honoured; a server asking for more is given up on this run."""


def user_agent(settings: Settings) -> str:
    """Who we are, with where to find out more, as a polite poller says."""
    return f"forum-digest/{__version__} (+{settings.site.base_url})"


@dataclass(frozen=True)
class FetchPolicy:
    """Timeouts and caps in seconds and bytes, the retry schedule, and the clock to use.

    ``deadline`` bounds one source's whole poll (redirects, retries, back-off and a body
    that drips in slowly); ``timeout`` bounds each wait for the network inside it.
    """

    user_agent: str
    timeout: float = DEFAULTS.timeout.total_seconds()
    connect_timeout: float = DEFAULTS.connect_timeout.total_seconds()
    deadline: float = DEFAULTS.deadline.total_seconds()
    max_bytes: int = DEFAULTS.max_bytes
    max_redirects: int = DEFAULTS.max_redirects
    retries: int = DEFAULTS.retries
    backoff: float = DEFAULTS.backoff.total_seconds()
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, compare=False)
    # Why a redirect's target may not be fetched from a public source: its host is on a
    # private network (``fetch``); tests give their own, their servers being all local.
    private_address: AddressCheck = field(default=private_address_problem, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings,
                      sleep: Callable[[float], None] = time.sleep,
                      monotonic: Callable[[], float] = time.monotonic) -> FetchPolicy:
        limits = settings.collect
        return cls(user_agent=user_agent(settings),
                   timeout=limits.timeout.total_seconds(),
                   connect_timeout=limits.connect_timeout.total_seconds(),
                   deadline=limits.deadline.total_seconds(),
                   max_bytes=limits.max_bytes, max_redirects=limits.max_redirects,
                   retries=limits.retries, backoff=limits.backoff.total_seconds(),
                   sleep=sleep, monotonic=monotonic)

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """How long to wait before retry number ``retry`` (1, 2, ...): the back-off doubled
        at each retry, or the server's "Retry-After" when it asks for longer."""
        wait = self.backoff * float(2 ** (retry - 1))
        if retry_after is not None:
            wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
        return wait
