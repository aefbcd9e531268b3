"""The one pass every reader's items go through before they leave the sources stage.

Whatever a parser (or a parser added later) forgets, ``seal`` still scrubs every text
field of what no store, renderer or mail may carry and bounds its length, so the limits
live here and nowhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from digest.dates import EARLIEST, LATEST, within_years
from digest.models import EventInfo, Item
from digest.safetext import has_visible, safe_html, safe_line, safe_text
from digest.sources.clean.identity import web_address, with_link_keys
from digest.sources.clean.markup import (
    TITLE_LIMIT,
    UNTITLED,
    cut_html,
    cut_line,
)

LOCATION_LIMIT = 300
"""The longest event location: a venue and its address."""
LINK_LIMIT = 2_000
"""The longest link kept (the limit sitemaps and most browsers keep to); a longer one is
dropped and the item shows no link rather than a broken one."""
KEY_LIMIT = 2_000
"""The longest identity key stored as it is (the column holds 2 048); a longer one (a
guid of a megabyte) is stored as ``sha256:`` of itself, still stable from poll to poll."""


def seal(item: Item) -> Item:
    """The one pass every reader's items go through before they leave the stage
    (``poll``): every text field scrubbed of what no store, renderer or mail may carry
    (``digest.safetext``) and bounded (``TITLE_LIMIT``, ``SUMMARY_LIMIT``,
    ``LOCATION_LIMIT``, ``LINK_LIMIT``, ``KEY_LIMIT``). A reader that forgets a field, or
    a new reader, still cannot let a control character or a megabyte title through.
    Idempotent: sealing a sealed item changes nothing."""
    link = web_address(safe_line(item.link or ""))
    if link is not None and len(link) > LINK_LIMIT:
        link = None
    key = safe_text(item.key).strip()  # not safe_line: a stored key must not change
    if len(key) > KEY_LIMIT:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    event = _sane_event(item.event)
    if event is not None and event.location is not None:
        location = cut_line(safe_line(event.location), LOCATION_LIMIT) or None
        event = EventInfo(start=event.start, end=event.end, location=location)
    title = cut_line(safe_line(item.title), TITLE_LIMIT)
    return replace(item, key=key, title=title if has_visible(title) else UNTITLED,
                   link=link, summary_html=cut_html(safe_html(item.summary_html)), event=event,
                   published=_within_years(item.published))


def sealed(items: Iterable[Item]) -> list[Item]:
    """A reader's items as they leave the stage: each one ``seal``-ed, then given its link
    key (``with_link_keys``: the link that finds the same article from other sources)."""
    return with_link_keys([seal(item) for item in items])


def _within_years(moment: datetime) -> datetime:
    """A publication time moved into [EARLIEST, LATEST] (a feed's "0001" is "long ago")."""
    return min(max(moment, EARLIEST), LATEST)


def event_problems(items: Iterable[Item]) -> list[str]:
    """What ``seal`` will leave out of the items' events, said (the items stay): a start
    outside the years anyone schedules in, or such an end."""
    problems: list[str] = []
    for item in items:
        event = item.event
        if event is None:
            continue
        name = f"event {cut_line(safe_line(item.title), 100)!r}"
        if not within_years(event.start):
            problems.append(f"{name}: its start {event.start} is outside the years "
                            f"{EARLIEST.year}-{LATEST.year}: kept without an event date")
        elif not within_years(event.end):
            problems.append(f"{name}: its end {event.end} is outside the years "
                            f"{EARLIEST.year}-{LATEST.year}: kept without an end")
    return problems


def _sane_event(event: EventInfo | None) -> EventInfo | None:
    """An event outside the years anyone schedules in has no usable date: its start makes
    it no event (the item stays, undated as an event); a wild end is dropped."""
    if event is None or not within_years(event.start):
        return None
    return event if within_years(event.end) else replace(event, end=None)
