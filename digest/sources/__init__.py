"""The sources stage: configured sources → their items, cleaned and keyed.

The collect job (``digest.jobs.collect``) calls ``poll_sources`` with each source's stored
state and stores what comes back; every failure is one ``Poll.error`` naming the source and
its location, and no third-party exception crosses this boundary. Modules, one job each:

- ``pool``: many sources at once, with a per-host limit; ``poll``: one source, its state
  in and out;
- ``registry``: the reader for each source type (``reader.Reader``: a body and its
  ``ReadContext`` → ``parsed.Parsed``), and whether the type is fetched or a folder;
- ``fetch``: bytes from a file or an http(s) URL (conditional GET, redirects, retries),
  with ``policy`` (limits, back-off, the clock), ``body`` (size caps, decompression) and
  ``deadline`` (the poll's deadline at every network wait);
  what it gives, ``fetched.Fetched``, is named apart so parsers need no HTTP client;
- ``guard``: hostile XML made safe to parse (entity bombs, controls, mixed encodings);
- ``feed`` (RSS, Atom) and ``jsonfeed``, both through ``entries`` (one entry → one item),
  ``ical`` with ``recurrence`` and ``zone_rules`` (its own time zones checked), ``folder``:
  one reader per kind of document;
- ``clean``: sanitising and titles (``markup``), theme mapping and kinds (``themes``),
  identity keys (``identity``), and ``seal``, which every item passes;
- ``opml``: feed lists to import as sources;
- ``parsers`` and ``parse_process``: feeds parsed in a few small processes beside the
  polling threads.

The names below are imported when first used: a parsing process imports this package on
its way to ``parse_process`` and must not pull in the HTTP client and the settings.

httpx imports its own command line (click, Pygments, rich) whenever they are installed, and
uvicorn brings click: 2.5 MiB and tens of milliseconds at every ``collect``'s start for a
program this product never runs. Its module is marked absent before any module of this
package imports httpx, so httpx defines its stand-in ``main`` instead (issue 13).
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if TYPE_CHECKING:
    import httpx

    from digest.clock import Clock
    from digest.config import Settings, SourceSettings
    from digest.models import Item
    from digest.sources.poll import Poll, poll_source
    from digest.sources.pool import poll_sources

__all__ = ["Poll", "collect_source", "poll_source", "poll_sources"]

_LAZY = {"Poll": "digest.sources.poll", "poll_source": "digest.sources.poll",
         "poll_sources": "digest.sources.pool"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def collect_source(
    source: SourceSettings,
    settings: Settings,
    clock: Clock,
    client: httpx.Client | None = None,
) -> list[Item]:
    """The source's items read afresh (no stored state), with ``source_id`` set and
    ``first_seen`` left None; notes that cannot be read are skipped.

    Raises ``SourceError`` ("source 'news' (sample/feeds/news.atom): <what went wrong>")
    when the source cannot be read or parsed.
    """
    from digest.errors import SourceError
    from digest.sources.poll import poll_source

    poll = poll_source(source, settings, clock, client=client)
    if poll.error is not None:
        raise SourceError(poll.error)
    return list(poll.items or ())
