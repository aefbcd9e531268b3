"""Read a source's bytes from a file or an http(s) URL, politely and within limits.

Parsers only ever see bytes plus the address they came from, so each parser is tested on
files and the network is one small, bounded place. Over HTTP this module

- sends the validators of the last stored answer (``If-None-Match``, ``If-Modified-Since``),
  so an unchanged feed costs one "304 Not Modified" and no parsing;
- follows redirects itself: a chain of permanent ones (301, 308) tells the caller the new
  address to remember, a loop or too long a chain stops, and a source on a public address
  that redirects to a host on a private one (loopback, private, link-local: the service's
  own network) is refused;
- treats "410 Gone" as final (``SourceGoneError``: the caller disables the source);
- retries 5xx, 429, timeouts and broken transfers with a doubling back-off (honouring
  ``Retry-After``), within one deadline for the whole poll, sleeping through the policy
  so tests never wait;
- caps the body as sent and once decompressed (``body.read_body``);
- keeps no header value over ``MAX_HEADER_VALUE`` characters: an oversized validator is
  dropped with a problem note (the next poll is then unconditional), an oversized
  redirect target is refused, a long reason phrase is cut;
- tells a malformed response (broken or over-long headers, a bad Content-Length) apart
  from a transfer cut short: only the latter is retried.

Failures come out as ``SourceError``; no httpx or OS exception leaves this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from digest.config import Settings
from digest.errors import SourceError
from digest.reading import TooLargeError, read_bounded
from digest.sources import deadline
from digest.sources.body import ACCEPT_ENCODING, read_body
from digest.sources.deadline import within
from digest.sources.fetched import Fetched
from digest.sources.policy import MAX_BYTES, FetchPolicy, user_agent

__all__ = ["ACCEPT_CALENDAR", "ACCEPT_FEED", "MAX_BYTES", "Fetched", "SourceGoneError", "fetch",
           "fetch_url", "is_url", "read_file", "user_agent"]

ACCEPT_FEED = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, application/json;q=0.8, "
    "text/xml;q=0.8, */*;q=0.5"
)
ACCEPT_CALENDAR = "text/calendar, */*;q=0.5"
_PERMANENT = frozenset({301, 308})
MAX_HEADER_VALUE = 2048
"""The longest header value kept from a response (validators, a redirect's target)."""
MAX_REASON = 100
"""The longest reason phrase quoted in a message (and so stored with a 410)."""
HEADERS_LIMIT_KB = 100
"""httpcore's cap on a response's headers, in KB, as the message about it says."""
_CUT_SHORT = ("peer closed connection", "server disconnected")
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class SourceGoneError(SourceError):
    """The server said the document is gone for good (HTTP 410): stop polling it."""


def is_url(location: str) -> bool:
    """Whether a source location is an http(s) URL rather than a path (one that cannot be
    read is neither: its poll says it cannot be read, it never raises here)."""
    try:
        return urlsplit(location.strip()).scheme.lower() in {"http", "https"}
    except ValueError:
        return False


def fetch(
    location: str,
    settings: Settings,
    client: httpx.Client | None = None,
    *,
    accept: str = "*/*",
    policy: FetchPolicy | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """Read a location: an http(s) URL through httpx, anything else as a path from the file."""
    policy = policy or FetchPolicy.from_settings(settings)
    if is_url(location):
        return fetch_url(location.strip(), policy, client, accept=accept, etag=etag,
                         last_modified=last_modified)
    return read_file(settings.resolve(location), policy.max_bytes)


def read_file(path: Path, limit: int = MAX_BYTES) -> Fetched:
    """A file's bytes, refusing what is missing, unreadable or over the size cap."""
    try:
        data = read_bounded(path, limit)
    except TooLargeError:
        raise SourceError(f"{path} is over the {limit} byte limit") from None
    except FileNotFoundError:
        raise SourceError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a folder, expected a file") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    return Fetched(data=data, location=str(path))


class RetryableError(Exception):
    """A failure worth another try (5xx, 429, a timeout, a transfer cut short)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def fetch_url(
    url: str,
    policy: FetchPolicy,
    client: httpx.Client | None = None,
    *,
    accept: str = "*/*",
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """GET a URL under ``policy``: conditional when validators are given, retried on
    temporary failures, within the policy's deadline. A given ``client`` is shared (the
    poller gives one to every thread); without one a client is made for this call."""
    headers = {"User-Agent": policy.user_agent, "Accept": accept,
               "Accept-Encoding": ACCEPT_ENCODING}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    if client is None:
        with deadline.client() as own:
            return _with_retries(own, url, headers, policy)
    return _with_retries(client, url, headers, policy)


def _with_retries(client: httpx.Client, url: str, headers: dict[str, str],
                  policy: FetchPolicy) -> Fetched:
    deadline_at = policy.monotonic() + policy.deadline
    retry = 0
    while True:
        try:
            return _follow(client, url, headers, policy, deadline_at)
        except RetryableError as failure:
            retry += 1
            wait = policy.delay(retry, failure.retry_after)
            tries = f"{retry} {'try' if retry == 1 else 'tries'}"
            if retry > policy.retries:
                raise SourceError(f"{failure} (gave up after {tries})") from None
            if policy.monotonic() + wait >= deadline_at:
                raise SourceError(f"{failure} (gave up after {tries}: a retry in {wait:g}s "
                                  f"would pass the {policy.deadline:g}s deadline)") from None
            policy.sleep(wait)


def _follow(client: httpx.Client, url: str, headers: dict[str, str], policy: FetchPolicy,
            deadline_at: float) -> Fetched:
    """One try: GET ``url``, following redirects by hand to tell permanent ones apart."""
    current = url
    seen = [url]
    moved_to: str | None = None
    all_permanent = True
    origin_public: bool | None = None  # ``url`` on a public address: asked at the first
    for _ in range(policy.max_redirects + 1):  # redirect to another host
        with stream_within(client, current, headers, policy, deadline_at) as response:
            target = redirect_target(response, current)
            if target is None:
                return _answer(response, current, headers, policy, deadline_at, moved_to)
        if target in seen:
            chain = " → ".join([*seen[seen.index(target):], target])
            raise SourceError(f"redirect loop: {chain}")
        if urlsplit(target).hostname != urlsplit(current).hostname:
            if origin_public is None:
                origin_public = policy.private_address(url) is None
            if origin_public and (problem := policy.private_address(target)):
                raise SourceError(f"{current} redirects to {target}: {problem}; a source on a "
                                  "public address may not lead into a private network (give "
                                  "that address as the source's url if it is meant)")
        all_permanent = all_permanent and response.status_code in _PERMANENT
        if all_permanent:
            moved_to = target
        seen.append(target)
        current = target
    raise SourceError(f"more than {policy.max_redirects} redirects from {url}")


@contextmanager
def stream_within(client: httpx.Client, url: str, headers: dict[str, str], policy: FetchPolicy,
            deadline_at: float) -> Iterator[httpx.Response]:
    """``client.stream`` with the policy's timeouts (never past the deadline), and httpx's
    errors, raised on opening or while reading the body, sorted into "try again"
    (``RetryableError``) and "give up" (``SourceError``)."""
    remaining = deadline_at - policy.monotonic()
    if remaining <= 0:
        raise SourceError(f"gave up on {url}: the {policy.deadline:g}s deadline passed")
    timeout = httpx.Timeout(min(policy.timeout, remaining),
                            connect=min(policy.connect_timeout, remaining))
    try:
        with within(lambda: deadline_at - policy.monotonic()), client.stream(
                "GET", url, headers=headers, timeout=timeout,
                follow_redirects=False) as response:
            yield response
    except httpx.TimeoutException:
        if policy.monotonic() < deadline_at:
            raise RetryableError(f"timed out reading {url}") from None
        raise SourceError(f"{url} is too slow: not read within the {policy.deadline:g}s "
                          "deadline") from None
    except httpx.HTTPError as exc:
        raise _translate(exc, url) from None
    except (httpx.InvalidURL, httpx.StreamError) as exc:
        raise SourceError(f"cannot read {url}: {exc}") from None


def _translate(exc: httpx.HTTPError, url: str) -> Exception:
    if isinstance(exc, httpx.RemoteProtocolError) and not str(exc).lower().startswith(
            _CUT_SHORT):
        return SourceError(f"{url} sent a malformed response: its headers are broken "
                           f"(an illegal line, a bad Content-Length) or over "
                           f"{HEADERS_LIMIT_KB} KB")
    if isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError):
        return RetryableError(f"the transfer of {url} was cut short: {exc or type(exc).__name__}")
    return SourceError(f"cannot read {url}: {type(exc).__name__}: {exc}")


def redirect_target(response: httpx.Response, current: str) -> str | None:
    if response.status_code not in REDIRECTS:
        return None
    location = str(response.headers.get("location", "")).strip()
    if not location:
        raise SourceError(f"HTTP {response.status_code} from {current} without a Location")
    if len(location) > MAX_HEADER_VALUE:
        raise SourceError(f"HTTP {response.status_code} from {current} redirects to an "
                          f"address over {MAX_HEADER_VALUE} characters")
    target = urljoin(current, location)
    if not is_url(target):
        raise SourceError(f"{current} redirects to {target!r}, which is not http(s)")
    return target


def _answer(response: httpx.Response, url: str, headers: dict[str, str], policy: FetchPolicy,
            deadline_at: float, moved_to: str | None) -> Fetched:
    """What a final (non-redirect) response means."""
    status = response.status_code
    phrase = response.reason_phrase[:MAX_REASON]
    reason = f" {phrase}" if phrase else ""
    if status == 304:
        if "If-None-Match" not in headers and "If-Modified-Since" not in headers:
            raise SourceError(f"HTTP 304 from {url} to a request that was not conditional")
        (etag, last_modified), problems = _validators(response, headers)
        return Fetched(data=b"", location=url, base=url, not_modified=True,
                       moved_to=moved_to, problems=problems, etag=etag,
                       last_modified=last_modified)
    if status == 410:
        raise SourceGoneError(f"HTTP 410{reason} from {url}: the server says it is gone for good")
    if status >= 500 or status == 429:
        raise RetryableError(f"HTTP {status}{reason} from {url}", _retry_after(response))
    if not response.is_success:
        raise SourceError(f"HTTP {status}{reason} from {url}")
    data = read_body(response, policy.max_bytes,
                     lambda: policy.monotonic() > deadline_at, policy.deadline)
    (etag, last_modified), problems = _validators(response, {})
    return Fetched(data=data, location=url, base=url,
                   content_type=response.headers.get("content-type"), moved_to=moved_to,
                   problems=problems, etag=etag, last_modified=last_modified)


def _validators(response: httpx.Response, sent: dict[str, str]
                ) -> tuple[tuple[str | None, str | None], tuple[str, ...]]:
    """The validators to store: the response's, else (after a 304) those sent; one over
    ``MAX_HEADER_VALUE`` is dropped with a problem, so the next poll asks afresh."""
    kept: list[str | None] = []
    problems: list[str] = []
    for header, asked in (("ETag", "If-None-Match"), ("Last-Modified", "If-Modified-Since")):
        value = response.headers.get(header) or sent.get(asked)
        if value is not None and len(value) > MAX_HEADER_VALUE:
            problems.append(f"its {header} header "
                            f"is over {MAX_HEADER_VALUE} characters ({len(value)}): not kept, "
                            "the next poll is unconditional")
            value = None
        kept.append(value)
    return (kept[0], kept[1]), tuple(problems)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds a "Retry-After" asks for: a number, or a date measured against the
    response's own Date (so no wall clock is read)."""
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    try:
        until = parsedate_to_datetime(value)
        sent = parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        return None
    return max((until - sent).total_seconds(), 0.0)
