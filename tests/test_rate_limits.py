"""The in-memory limits of the web app (requests per client address, confirmation mails
per address) stay bounded and cheap whatever the number of addresses a visitor uses:
before, past 10,000 keys in the window every check rebuilt the whole table, so a visitor
with many addresses (IPv6) made each request cost more and the memory grow without end."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from digest.jobs.joining import AddressLimit
from digest.jobs.rate_limit import MAX_KEYS, RecentEvents
from digest.web.admin.login import ClientLimit

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)


def test_many_clients_cost_little_and_stay_bounded() -> None:
    clients, addresses = ClientLimit(10, 900.0), AddressLimit()
    started = time.perf_counter()
    for number in range(4 * MAX_KEYS):
        assert clients.allow(f"2001:db8::{number:x}")
        assert addresses.allow(f"member{number}@example.org", NOW + timedelta(seconds=number))
    assert time.perf_counter() - started < 10  # before: minutes (a table rebuilt per check)
    assert len(clients.events) <= MAX_KEYS and len(addresses.events) <= MAX_KEYS


def test_the_limit_still_holds_per_key() -> None:
    events = RecentEvents(3, 60.0, max_keys=100)
    assert [events.allow("a", 0.0) for _ in range(4)] == [True, True, True, False]
    for number in range(50):  # others come, fewer than the bound: "a" is not forgotten
        events.allow(f"other{number}", 1.0)
    assert not events.allow("a", 59.0)
    assert events.allow("a", 60.5)  # its window is over
    assert len(events) <= 100


def test_quiet_keys_are_forgotten_and_the_bound_is_kept() -> None:
    events = RecentEvents(2, 10.0, max_keys=5)
    for number in range(20):
        events.allow(f"k{number}", float(number))
        assert len(events) <= 5
    assert events.allow("k19", 19.5) and not events.allow("k19", 19.6)  # the latest kept
    events.allow("late", 100.0)  # every other key's window is over: all forgotten
    assert len(events) == 1


def test_an_address_limit_counts_by_the_jobs_clock() -> None:
    limit = AddressLimit(limit=2, window=timedelta(minutes=15))
    assert limit.allow("Anna@example.org", NOW) and limit.allow("Anna@example.org", NOW)
    assert not limit.allow("Anna@example.org", NOW + timedelta(minutes=14))
    assert limit.allow("Anna@example.org", NOW + timedelta(minutes=15, seconds=1))
