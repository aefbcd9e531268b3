"""Poll many sources at once, at most ``collect.per_host`` at a time on any one host.

Polling is waiting (for DNS, connections, slow servers), so sources are polled by a pool
of ``collect.concurrency`` threads sharing one HTTP client and its connections. A site
with many feeds is not hammered: a per-host semaphore holds the extra polls back, and the
work is queued round-robin over hosts so the threads are not all waiting on one host
while others could be read. Parsing a feed is not waiting: a thread hands the bytes to one
of a few parsing processes (``parsers``, ``collect.processes``) and waits for its items, so
feeds are parsed on every CPU. Results come back in the config's order, as each is ready,
so storing them does not depend on which server answered first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from itertools import zip_longest
from urllib.parse import urlsplit

import httpx

from digest.clock import Clock
from digest.config import Settings, SourceSettings
from digest.source_state import SourceState
from digest.sources import deadline
from digest.sources.fetch import is_url
from digest.sources.parsers import ParsingProcesses, processes_for
from digest.sources.policy import FetchPolicy
from digest.sources.poll import Poll, poll_source
from digest.sources.registry import READERS, Fetches


class HostSlots:
    """A semaphore per host, made on first use."""

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def slot(self, host: str | None) -> AbstractContextManager[object]:
        """Hold one of the host's slots (files and folders have no host: no limit)."""
        if host is None:
            return nullcontext()
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self._per_host))
        return semaphore


def host_of(source: SourceSettings, state: SourceState | None) -> str | None:
    """The host a source is read from (after a stored permanent redirect), or None."""
    url = (state.url if state and state.applies_to(source.location) else None) or source.url
    entry = READERS.get(source.type)  # an unknown type's poll fails later, by name
    if (entry is not None and not entry.fetched) or not url or not is_url(url):
        return None
    return urlsplit(url.strip()).netloc.lower()


def interleaved(sources: Sequence[SourceSettings], states: dict[str, SourceState],
                ) -> list[int]:
    """Source positions round-robin over hosts, each host's in config order."""
    by_host: dict[str | None, list[int]] = {}
    for position, source in enumerate(sources):
        by_host.setdefault(host_of(source, states.get(source.id)), []).append(position)
    rounds = zip_longest(*by_host.values())
    return [position for round_ in rounds for position in round_ if position is not None]


def poll_sources(
    sources: Sequence[SourceSettings],
    settings: Settings,
    clock: Clock,
    states: dict[str, SourceState],
    *,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    parsers: ParsingProcesses | None = None,
) -> Iterator[Poll]:
    """Poll every source concurrently; yield each ``Poll`` in the order of ``sources``.
    Feeds are parsed in ``parsers`` when given, else in as many processes as
    ``collect.processes`` says for this many feeds (``parsers.processes_for``)."""
    limits = settings.collect
    policy = FetchPolicy.from_settings(settings, sleep=sleep)
    own_parsers = parsers is None
    if parsers is None:
        size = processes_for(limits.processes, _listings(sources), limits.concurrency)
        parsers = ParsingProcesses(size - 1, policy.deadline, here=True) if size > 1 else None
    shared = client or deadline.client(
        httpx.Limits(max_connections=limits.concurrency,
                     max_keepalive_connections=limits.concurrency))
    slots = HostSlots(limits.per_host)

    def one(source: SourceSettings) -> Poll:
        state = states.get(source.id)
        with slots.slot(host_of(source, state)):
            return poll_source(source, settings, clock, state, client=shared, policy=policy,
                               parsers=parsers)

    pool = ThreadPoolExecutor(max_workers=limits.concurrency, thread_name_prefix="digest-poll")
    try:
        futures: dict[int, Future[Poll]] = {
            position: pool.submit(one, sources[position])
            for position in interleaved(sources, states)}
        for position in range(len(sources)):
            yield futures[position].result()
    finally:
        # A caller that stops early (its store failed) does not wait for polls not begun.
        pool.shutdown(wait=True, cancel_futures=True)
        if client is None:
            shared.close()
        if own_parsers and parsers is not None:
            parsers.close()


def _listings(sources: Sequence[SourceSettings]) -> int:
    """How many of the sources a parsing process can read (feeds, not calendars or folders)."""
    return sum(1 for source in sources
               if isinstance(entry := READERS.get(source.type), Fetches)
               and entry.listing_reader)
