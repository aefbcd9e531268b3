"""Whether a URL can be fetched, without reading it: an image a bulletin shows must load
in every member's mail client, so the jobs layer checks it before the bulletin goes out.

One small ranged GET (``Range: bytes=0-0``; the body, whatever its size, is never read),
redirects followed by hand, under the sources' ``FetchPolicy`` timeouts and redirect cap.
Each address, the first and every redirect's, is refused unless its host resolves only to
public addresses (``addresses.public_address_problem``): the service never probes its own
network for whoever writes a bulletin. (The check resolves the name, then connects: a host whose
DNS answer changes in between is not caught; nothing fetched is used, only its status.)
Failures come out as ``SourceError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from digest.errors import SourceError
from digest.sources import deadline
from digest.sources.addresses import AddressCheck, public_address_problem
from digest.sources.fetch import RetryableError, is_url, redirect_target, stream_within
from digest.sources.policy import FetchPolicy


@dataclass(frozen=True)
class Probed:
    """A URL's final answer: where it ended, its status and media type (lower case)."""

    url: str
    status: int
    content_type: str


_WHY = ": a member's mail client cannot load it, and the digest does not fetch from it"


def probe(url: str, policy: FetchPolicy, *,
          check_address: AddressCheck = public_address_problem,
          client: httpx.Client | None = None) -> Probed:
    """GET the first byte of ``url`` (following redirects, each address checked first)
    within ``policy``'s timeouts and deadline; ``SourceError`` when it cannot be had."""
    deadline_at = policy.monotonic() + policy.deadline
    headers = {"User-Agent": policy.user_agent, "Range": "bytes=0-0",
               "Accept": "image/*, */*;q=0.5"}
    if client is None:
        with deadline.client() as own:
            return _follow(own, url, headers, policy, deadline_at, check_address)
    return _follow(client, url, headers, policy, deadline_at, check_address)


def _follow(client: httpx.Client, url: str, headers: dict[str, str], policy: FetchPolicy,
            deadline_at: float, check_address: AddressCheck) -> Probed:
    current = url
    for _ in range(policy.max_redirects + 1):
        if not is_url(current):
            raise SourceError(f"{current!r} is not an http(s) address")
        if problem := check_address(current):
            raise SourceError(f"{current}: {problem}{_WHY}")
        try:  # the sources' own timeouts and error sorting; a probe never retries
            with stream_within(client, current, headers, policy, deadline_at) as response:
                status = response.status_code
                kind = response.headers.get("content-type", "").split(";")[0].strip()
                target = redirect_target(response, current)
        except RetryableError as exc:
            raise SourceError(str(exc)) from None
        if target is None:
            if status not in (200, 206):
                raise SourceError(f"HTTP {status} from {current}")
            return Probed(url=current, status=status, content_type=kind.lower())
        current = target
    raise SourceError(f"more than {policy.max_redirects} redirects from {url}")
