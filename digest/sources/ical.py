"""iCalendar files → event items, through ``icalendar``.

Calendars say when things happen in their own terms: all-day events end on the day *after*
(DTEND is exclusive), times come with a TZID, in UTC or "floating" with no zone at all.
This module turns those into the product's terms: inclusive ``date`` ends for all-day
events and aware UTC datetimes for timed ones (floating times read in the site's zone).
Recurring events become one item per occurrence from now to ``collect.events_ahead``
(``recurrence``); the first occurrence of a series keeps the series' key and the others add
``#`` and their RECURRENCE-ID, so a moved or cancelled occurrence is that one item.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import icalendar
from icalendar.cal import Component

from digest.config import SourceSettings
from digest.dates import date_or_utc, utc_instant
from digest.errors import SourceError
from digest.models import EventInfo, Item, Kind
from digest.sources.clean.identity import canonical_link, identity_key, is_web_link
from digest.sources.clean.markup import plain_text, plain_title, sanitize_html, text_to_html
from digest.sources.clean.themes import ThemeMapper, keyword_text
from digest.sources.fetched import Fetched
from digest.sources.parsed import Parsed, left_out
from digest.sources.reader import ReadContext
from digest.sources.recurrence import first_of_series, occurrences, series_uids
from digest.sources.zone_rules import checked_zones, own_zones_in_use

UNTITLED = "(untitled event)"


def parse_calendar(fetched: Fetched, context: ReadContext) -> Parsed:
    """Every VEVENT that is not cancelled, as an event item: single events in the
    calendar's order, then the occurrences of recurring ones in time order, until
    ``collect.max_items`` are built: the rest are counted and reported, never built (a
    calendar of 100 000 events costs the items kept), and when the single events fill
    the bound the recurring series are not expanded at all."""
    data, zone_problems = checked_zones(fetched.data)
    with own_zones_in_use(data):
        return _parse(data, zone_problems, context)


def _parse(data: bytes, zone_problems: list[str], context: ReadContext) -> Parsed:
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise SourceError(f"not a readable iCalendar file: {exc}") from None
    if calendar.name != "VCALENDAR":
        raise SourceError(f"not an iCalendar file (found {calendar.name or 'nothing'})")
    source, settings, mapper = context.source, context.settings, context.mapper
    zone = settings.site.zone
    now = context.clock.now()
    parsed = Parsed(problems=zone_problems)
    events = calendar.walk("VEVENT")
    parsed.problems += [f"time zone {name!r} is not defined by the calendar nor known: "
                        "times given in it are read in site.timezone"
                        for name in _unknown_zones(events)
                        if not any(f"time zone {name!r} left out" in p for p in zone_problems)]
    series = series_uids(events)
    shared = _shared_links(events)
    limit = settings.collect.max_items
    singles = [event for event in events
               if str(event.get("UID", "")) not in series and not _cancelled(event)]
    for index, event in enumerate(singles):
        if len(parsed.items) == limit:  # the rest are counted, never built
            parsed.problems.append(left_out(len(singles) - index, limit, "events"))
            break
        single = _read(event, source, mapper, zone, now, shared, parsed.problems)
        if single is not None:
            parsed.items.append(single)
    if len(parsed.items) == limit:
        if series:  # no room left: not even expanded
            parsed.problems.append(left_out(len(series), limit, "recurring series"))
        return parsed
    try:
        found = occurrences(calendar, now, now + settings.collect.events_ahead, zone,
                            parsed.problems)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise SourceError(f"recurring events cannot be expanded: {exc}") from None
    firsts = first_of_series(events, series)
    happening = [occurrence for occurrence in found if not _cancelled(occurrence)]
    for index, occurrence in enumerate(happening):
        if len(parsed.items) == limit:
            parsed.problems.append(left_out(len(happening) - index, limit, "occurrences"))
            break
        item = _read(occurrence, source, mapper, zone, now, shared, parsed.problems)
        if item is not None:
            parsed.items.append(_as_occurrence(item, occurrence, firsts, zone))
    return parsed


def _shared_links(events: list[Component]) -> frozenset[str]:
    """The links (canonical) that several events carry (their UIDs differ): a calendar
    whose events all link to its agenda page. Such a link is no event's key."""
    owners: dict[str, set[str]] = {}
    for event in events:
        url = str(event.get("URL", "")).strip()
        if is_web_link(url):
            uid = str(event.get("UID", "")) or str(id(event))
            owners.setdefault(canonical_link(url), set()).add(uid)
    return frozenset(link for link, uids in owners.items() if len(uids) > 1)


def _unknown_zones(events: list[Component]) -> list[str]:
    """The TZIDs, in order, that events give times in but icalendar could not resolve
    (their times come out naive, and are then read in the site's zone)."""
    names: dict[str, None] = {}
    for event in events:
        for prop in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            value = event.get(prop)
            tzid = getattr(value, "params", {}).get("TZID") if value is not None else None
            if not tzid:
                continue
            try:
                moment = event.decoded(prop)
            except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
                continue  # the event's own reading says why
            if isinstance(moment, datetime) and moment.tzinfo is None:
                names[str(tzid).strip()[:100]] = None
    return list(names)


def _cancelled(event: Component) -> bool:
    return str(event.get("STATUS", "")).strip().upper() == "CANCELLED"


def _read(event: Component, source: SourceSettings, mapper: ThemeMapper, zone: tzinfo,
          now: datetime, shared: frozenset[str], problems: list[str]) -> Item | None:
    """One event as an item; one that cannot be read (a missing or impossible date, a
    date at the calendar's very edge) is left out and said, and the others still count."""
    try:
        return _item(event, source, mapper, zone, now, shared)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        uid = str(event.get("UID", "")) or str(event.get("SUMMARY", "?"))
        problems.append(f"event {uid[:200]!r} left out: it cannot be read: {exc}")
        return None


def _as_occurrence(item: Item, occurrence: Component, firsts: dict[str, object],
                   zone: tzinfo) -> Item:
    """The occurrence's own key: the series' key for its first one, else key#RECURRENCE-ID."""
    slot = occurrence.decoded("RECURRENCE-ID") if "RECURRENCE-ID" in occurrence \
        else occurrence.decoded("DTSTART")
    first = firsts.get(str(occurrence.get("UID", "")))
    if first is not None and _moment(first, zone) == _moment(slot, zone):
        return item
    stamp = _moment(slot, zone)
    suffix = stamp.strftime("%Y%m%dT%H%M%SZ") if isinstance(stamp, datetime) \
        else stamp.strftime("%Y%m%d")
    return replace(item, key=f"{item.key}#{suffix}")


def _item(
    event: Component,
    source: SourceSettings,
    mapper: ThemeMapper,
    zone: tzinfo,
    now: datetime,
    shared: frozenset[str] = frozenset(),
) -> Item:
    start = _start(event, zone)
    title = plain_title(str(event.get("SUMMARY", ""))) or UNTITLED
    url = str(event.get("URL", "")).strip()
    link = url if is_web_link(url) else None
    uid = str(event.get("UID", "")).strip()
    if link and canonical_link(link) not in shared:
        key = canonical_link(link)
    elif uid:
        key = f"uid:{uid}"
    else:
        key = identity_key(None, None, title, start)
    location = plain_text(str(event.get("LOCATION", ""))) or None
    description = _description(event)
    return Item(
        key=key,
        kind=Kind.EVENT,
        title=title,
        link=link,
        summary_html=description,
        # CREATED first: many servers rewrite DTSTAMP at every export, which would make an
        # unchanged event look newly published each time it is collected.
        published=_stamp(event, "CREATED", zone) or _stamp(event, "DTSTAMP", zone)
        or _stamp(event, "LAST-MODIFIED", zone) or now,
        themes=mapper.themes_for(_categories(event), source.themes,
                                 keyword_text(title, description)),
        source_id=source.id,
        event=EventInfo(start=start, end=_end(event, start, zone), location=location),
        updated=_stamp(event, "LAST-MODIFIED", zone),
    )


def _start(event: Component, zone: tzinfo) -> date | datetime:
    if "DTSTART" not in event:
        raise ValueError("no DTSTART")
    return _moment(event.decoded("DTSTART"), zone)


def _end(
    event: Component, start: date | datetime, zone: tzinfo
) -> date | datetime | None:
    """The end, inclusive for all-day events (iCalendar's DTEND is the day after)."""
    if "DTEND" in event:
        end: date | datetime = _moment(event.decoded("DTEND"), zone)
    elif "DURATION" in event:
        duration = event.decoded("DURATION")
        if not isinstance(duration, timedelta):
            raise ValueError(f"DURATION is not a duration: {duration!r}")
        end = start + duration
    else:
        # RFC 5545: an all-day event without an end lasts that day; a timed one is an instant.
        return start if not isinstance(start, datetime) else None
    if isinstance(start, datetime):
        if not isinstance(end, datetime):
            end = utc_instant(end, zone)
        return max(end, start)
    if isinstance(end, datetime):
        end = end.date() + timedelta(days=1)
    return max(end - timedelta(days=1), start)


def _moment(value: Any, zone: tzinfo) -> date | datetime:
    """A DATE stays a date; a DATE-TIME becomes aware UTC (floating times read in ``zone``)."""
    if isinstance(value, date):
        return date_or_utc(value, zone)
    raise ValueError(f"not a date or date-time: {value!r}")


def _stamp(event: Component, name: str, zone: tzinfo) -> datetime | None:
    if name not in event:
        return None
    try:
        value = _moment(event.decoded(name), zone)
    except (ValueError, TypeError):
        return None
    return utc_instant(value, zone)


def _description(event: Component) -> str:
    """HTML from X-ALT-DESC (text/html) when a calendar offers it, else DESCRIPTION as text."""
    alternative = event.get("X-ALT-DESC")
    if alternative is not None and "html" in str(alternative.params.get("FMTTYPE", "")).lower():
        return sanitize_html(str(alternative))
    return sanitize_html(text_to_html(str(event.get("DESCRIPTION", ""))))


def _categories(event: Component) -> list[str]:
    value = event.get("CATEGORIES")
    if value is None:
        return []
    groups = value if isinstance(value, list) else [value]
    labels: list[str] = []
    for group in groups:
        cats = getattr(group, "cats", None)
        for cat in cats if cats is not None else str(group).split(","):
            text = str(cat).strip()
            if text:
                labels.append(text)
    return labels
