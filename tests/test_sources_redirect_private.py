"""A source on a public address cannot lead the collector into the service's own network:
a redirect from it to a host on a loopback, private or link-local address is refused before
that host is asked. A source configured on such an address (an intranet feed) keeps
following its redirects. The servers are all on 127.0.0.1, so the policy is given a check
that takes one of its names for a public host; the check itself is tested on literal
addresses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from digest.sources import poll_source
from digest.sources.addresses import private_address_problem
from digest.sources.policy import FetchPolicy
from digest.testing import build_settings
from tests.feed_server import FeedServer, Recorder, feed_server, redirect
from tests.test_sources_http import CLOCK, FIXTURES, THEMES, items_of, rss, source

SETTINGS = build_settings(FIXTURES, themes=THEMES)


def _public_except_localhost(url: str) -> str | None:
    """127.0.0.1 stands for a public site here; the name localhost for the private side."""
    host = urlsplit(url).hostname
    return f"its host {host!r} is at 127.0.0.1, not a public address" if host == "localhost" \
        else None


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


def _poll(url: str, policy: FetchPolicy) -> object:
    return poll_source(source(url), SETTINGS, CLOCK, None, policy=policy)


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_public_source_redirecting_into_a_private_network_is_refused(
        server: FeedServer, code: int) -> None:
    server.feed("/inside.rss", rss("Internal"))
    inside = server.url("/inside.rss").replace("127.0.0.1", "localhost")
    server.route("/feed", redirect(code, inside))
    server.route("/hop", redirect(302, "/feed"))  # a redirect on the same host first
    policy = replace(FetchPolicy.from_settings(SETTINGS, sleep=Recorder()),
                     private_address=_public_except_localhost)
    result = poll_source(source(server.url("/hop")), SETTINGS, CLOCK, None, policy=policy)
    assert result.error is not None
    assert f"redirects to {inside}" in result.error and "private network" in result.error
    assert "not a public address" in result.error
    assert server.asked("/inside.rss") == []
    assert not result.items and result.state.url is None  # nothing kept of the chain


def test_a_source_on_a_private_address_follows_its_redirects(server: FeedServer) -> None:
    """The real check: 127.0.0.1 is not public, so its redirect to localhost is followed."""
    server.feed("/inside.rss", rss("Internal"))
    server.route("/feed", redirect(302, server.url("/inside.rss").replace("127.0.0.1",
                                                                           "localhost")))
    policy = FetchPolicy.from_settings(SETTINGS, sleep=Recorder())
    result = poll_source(source(server.url("/feed")), SETTINGS, CLOCK, None, policy=policy)
    assert result.error is None and [i.title for i in items_of(result)] == ["Internal"]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[fe80::1]/",
    "http://[fc00::1]/", "http://0.0.0.0/", "http://100.64.0.1/", "http://localhost/",
])
def test_hosts_on_non_public_addresses_are_named(url: str) -> None:
    problem = private_address_problem(url)
    assert problem is not None and "not a public address" in problem


@pytest.mark.parametrize("url", ["http://8.8.8.8/", "https://[2001:4860:4860::8888]/",
                                 "http://no-such-host.invalid/"])
def test_public_or_unknown_hosts_are_left_to_the_fetch(url: str) -> None:
    assert private_address_problem(url) is None
