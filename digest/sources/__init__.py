"""The sources stage: one configured source → its items, cleaned and keyed.

The pipeline calls ``collect_source`` once per source and isolates failures per source, so
this is the boundary where anything that goes wrong becomes one ``SourceError`` naming the
source and its location; no third-party exception crosses it. Modules, one job each:

- ``fetch``: bytes from a file or an http(s) URL, within limits;
- ``feed``, ``ical``, ``folder``: one parser per kind of source;
- ``clean``: sanitising, titles, theme mapping, kinds and identity keys.
"""

from __future__ import annotations

import httpx

from digest.clock import Clock
from digest.config import Settings, SourceSettings
from digest.errors import DigestError, SourceError
from digest.models import Item
from digest.sources.clean import ThemeMapper
from digest.sources.feed import parse_feed
from digest.sources.fetch import ACCEPT_CALENDAR, ACCEPT_FEED, fetch
from digest.sources.folder import read_folder
from digest.sources.ical import parse_calendar

__all__ = ["collect_source"]


def collect_source(
    source: SourceSettings,
    settings: Settings,
    clock: Clock,
    client: httpx.Client | None = None,
) -> list[Item]:
    """The source's items, cleaned, with ``source_id`` set and ``first_seen`` left None.

    Raises ``SourceError`` ("source 'news' (sample/feeds/news.atom): <what went wrong>")
    when the source cannot be read or parsed.
    """
    where = f"source {source.id!r} ({source.location or 'no location'})"
    try:
        return _collect(source, settings, clock, client)
    except SourceError as exc:
        raise SourceError(f"{where}: {exc}") from exc
    except DigestError:
        raise
    except Exception as exc:  # the boundary: whatever a parser let through, translated
        raise SourceError(f"{where}: unexpected {type(exc).__name__}: {exc}") from exc


def _collect(
    source: SourceSettings, settings: Settings, clock: Clock, client: httpx.Client | None
) -> list[Item]:
    mapper = ThemeMapper(settings.theme_list())
    if source.type == "folder":
        return read_folder(source, settings, mapper, clock)
    if not source.url:
        raise SourceError(f"a {source.type} source needs url")
    if source.type == "ical":
        fetched = fetch(source.url, settings, client, accept=ACCEPT_CALENDAR)
        return parse_calendar(fetched, source, settings, mapper, clock)
    fetched = fetch(source.url, settings, client, accept=ACCEPT_FEED)
    return parse_feed(fetched, source, mapper, clock)
