"""Read a source's bytes from a file or an http(s) URL, within limits.

Parsers only ever see bytes plus the address they came from, so each parser is tested on
files and the network is one small, bounded place: a timeout, a redirect limit, a size cap
and a User-Agent that tells a site's operator who is polling and where to look. Failures
come out as ``SourceError``; no httpx or OS exception leaves this module.
(Conditional GET and retries belong to a later hardening of this module.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from digest import __version__
from digest.config import Settings
from digest.errors import SourceError

MAX_BYTES = 10 * 1024 * 1024
"""The largest document a source may send; a feed or calendar is never legitimately bigger."""
MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(20.0, connect=10.0)

ACCEPT_FEED = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)
ACCEPT_CALENDAR = "text/calendar, */*;q=0.5"


@dataclass(frozen=True)
class Fetched:
    """What a source sent: its bytes, where they finally came from, and their media type.

    ``base`` is the absolute http(s) URL relative links resolve against (after redirects),
    or None for a file, whose relative links only the document itself (xml:base) can anchor.
    """

    data: bytes
    location: str
    base: str | None = None
    content_type: str | None = None


def is_url(location: str) -> bool:
    """Whether a source location is an http(s) URL rather than a path."""
    return urlsplit(location.strip()).scheme.lower() in {"http", "https"}


def user_agent(settings: Settings) -> str:
    """Who we are, with where to find out more, as a polite poller says."""
    return f"forum-digest/{__version__} (+{settings.site.base_url})"


def fetch(
    location: str,
    settings: Settings,
    client: httpx.Client | None = None,
    *,
    accept: str = "*/*",
) -> Fetched:
    """Read a location: an http(s) URL through httpx, anything else as a path from the file."""
    if is_url(location):
        return fetch_url(location.strip(), settings, client, accept=accept)
    return read_file(settings.resolve(location))


def read_file(path: Path) -> Fetched:
    """A file's bytes, refusing what is missing, unreadable or over the size cap."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SourceError(f"{path} is {size} bytes, over the {MAX_BYTES} byte limit")
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a folder, expected a file") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    return Fetched(data=data, location=str(path))


def fetch_url(
    url: str,
    settings: Settings,
    client: httpx.Client | None = None,
    *,
    accept: str = "*/*",
) -> Fetched:
    """GET a URL, following at most ``MAX_REDIRECTS`` redirects and reading at most
    ``MAX_BYTES``; any non-2xx answer is an error. A given ``client`` keeps its own
    transport and timeouts (tests and the later pooled fetcher inject one)."""
    headers = {"User-Agent": user_agent(settings), "Accept": accept}
    try:
        if client is None:
            with httpx.Client(
                timeout=TIMEOUT, follow_redirects=True, max_redirects=MAX_REDIRECTS
            ) as own:
                return _get(own, url, headers)
        return _get(client, url, headers)
    except httpx.TooManyRedirects:
        raise SourceError(f"more than {MAX_REDIRECTS} redirects from {url}") from None
    except httpx.TimeoutException:
        raise SourceError(f"timed out reading {url}") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"cannot read {url}: {type(exc).__name__}: {exc}") from None
    except (httpx.InvalidURL, httpx.StreamError) as exc:
        raise SourceError(f"cannot read {url}: {exc}") from None


def _get(client: httpx.Client, url: str, headers: dict[str, str]) -> Fetched:
    with client.stream("GET", url, headers=headers, follow_redirects=True) as response:
        final = str(response.url)
        if not response.is_success:
            reason = f" {response.reason_phrase}" if response.reason_phrase else ""
            raise SourceError(f"HTTP {response.status_code}{reason} from {final}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BYTES:
            raise SourceError(f"{final} announces {declared} bytes, over the {MAX_BYTES} limit")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_BYTES:
                raise SourceError(f"{final} sent more than the {MAX_BYTES} byte limit")
        return Fetched(
            data=bytes(body),
            location=final,
            base=final,
            content_type=response.headers.get("content-type"),
        )
