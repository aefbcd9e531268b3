"""What a source sent: bytes and where they came from, without the means of fetching them.

Apart from ``fetch`` so that the readers, and the parsing processes that run them
(``parse_process``), can name it without importing the HTTP client.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fetched:
    """What a source sent: its bytes, where they finally came from, and their media type.

    ``base`` is the absolute http(s) URL relative links resolve against (after redirects),
    or None for a file, whose relative links only the document itself (xml:base) can anchor.
    ``not_modified`` means the server answered 304 to our validators: ``data`` is empty and
    the stored items stand. ``etag`` and ``last_modified`` are the validators to send next
    time; ``moved_to`` is the address a chain of permanent redirects ends at; ``problems``
    are what was left out of the response (a validator too long to keep).
    """

    data: bytes
    location: str
    base: str | None = None
    content_type: str | None = None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    problems: tuple[str, ...] = ()
