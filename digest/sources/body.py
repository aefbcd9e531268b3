"""Read an HTTP body within a byte cap, as sent and once decompressed, and within a deadline.

A cap checked only on the compressed bytes lets a 10 KB gzip "bomb" inflate to gigabytes in
memory; a cap checked only after decoding lets a server stream forever. So the raw bytes
are read as they come, counted, inflated here with a bound on each step's output, and the
inflated bytes counted too: memory never holds more than the cap plus one chunk, whatever
the server sends. Only the encodings we ask for (gzip, deflate) are accepted.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import httpx

from digest.errors import SourceError

ACCEPT_ENCODING = "gzip, deflate"


class _Inflater:
    """zlib with a bound on output; ``deflate`` may be zlib-wrapped or raw, as servers vary."""

    def __init__(self, encoding: str) -> None:
        self._raw_fallback = encoding == "deflate"
        self._engine = zlib.decompressobj(31 if encoding in {"gzip", "x-gzip"} else 15)
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        """Inflate ``data``, producing at most ``room + 1`` bytes (one more means: too big)."""
        try:
            out = self._engine.decompress(data, room + 1)
        except zlib.error:
            if not (self._raw_fallback and not self._started):
                raise
            self._raw_fallback = False
            self._engine = zlib.decompressobj(-15)
            out = self._engine.decompress(data, room + 1)
        self._started = True
        return out

    @property
    def complete(self) -> bool:
        return self._engine.eof


def _encoding(response: httpx.Response) -> str | None:
    """The one content coding of the body, lower case; None for identity."""
    value = str(response.headers.get("content-encoding", "")).strip().lower()
    codings = [c.strip() for c in value.split(",") if c.strip() and c.strip() != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in {"gzip", "x-gzip", "deflate"}:
        raise SourceError(f"unsupported Content-Encoding {value!r} from {response.url}")
    return codings[0]


def read_body(response: httpx.Response, limit: int, out_of_time: Callable[[], bool],
              deadline: float) -> bytes:
    """The decoded body of a streamed response, or ``SourceError`` when it is over
    ``limit`` bytes (compressed or not), its compression is broken, or reading it outlasts
    the poll's deadline. Network errors are left to the caller, which may retry them."""
    url = response.url
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise SourceError(f"{url} announces {declared} bytes, over the {limit} byte limit")
    encoding = _encoding(response)
    inflater = _Inflater(encoding) if encoding else None
    received = 0
    body = bytearray()
    for chunk in response.iter_raw():
        received += len(chunk)
        if received > limit:
            raise SourceError(f"{url} sent more than the {limit} byte limit")
        if inflater is None:
            body += chunk
        else:
            try:
                body += inflater.feed(chunk, limit - len(body))
            except zlib.error as exc:
                raise SourceError(f"{url} sent a broken {encoding} body: {exc}") from None
        if len(body) > limit:
            raise SourceError(f"{url} inflates to more than the {limit} byte limit "
                              f"({encoding} bomb?)")
        if out_of_time():
            raise SourceError(f"{url} is too slow: not read within the {deadline:g}s deadline")
    if inflater is not None and received and not inflater.complete:
        raise SourceError(f"{url} sent a truncated {encoding} body")
    return bytes(body)
