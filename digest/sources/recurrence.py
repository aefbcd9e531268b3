"""Recurring iCalendar events (RRULE, RDATE, EXDATE, moved or cancelled occurrences) →
the occurrences within a window, through ``recurring-ical-events``.

A rule is a program the calendar's author wrote, and expanding it costs what they chose:
``FREQ=SECONDLY`` from 2019 takes minutes to reach today. So each series is priced before
it is expanded (how many steps from its start to the window's end), a series that would
cost too much is skipped with a message, and the number of occurrences kept is capped.
Before that each rule is checked (``rrule_check``): ``INTERVAL=0`` never advances and
would fill memory without end. Each series is expanded on its own, so one whose rule
fails costs only itself.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo

import icalendar
import recurring_ical_events
from icalendar.cal import Component

from digest.dates import floating, instant
from digest.sources.rrule_check import rules_problem
from digest.sources.time_budget import OverTimeError, time_limit

MAX_STEPS = 50_000
"""The most rule steps one series may cost (a daily event from the 1890s is fine)."""
SERIES_SECONDS = 2.0
"""The longest one series may take to expand (a last resort: the checks come first)."""
CALENDAR_SECONDS = 10.0
"""The longest the series of one calendar may take to expand together."""
MAX_OCCURRENCES = 2_000
"""The most occurrences one calendar gives; a digest needs the next few of each."""

_PERIOD = {"SECONDLY": timedelta(seconds=1), "MINUTELY": timedelta(minutes=1),
           "HOURLY": timedelta(hours=1), "DAILY": timedelta(days=1),
           "WEEKLY": timedelta(weeks=1), "MONTHLY": timedelta(days=28),
           "YEARLY": timedelta(days=365)}
_EXPANDING = ("BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY", "BYYEARDAY",
              "BYWEEKNO", "BYMONTH")


def _is_master(event: Component) -> bool:
    return ("RRULE" in event or "RDATE" in event) and "RECURRENCE-ID" not in event


def series_uids(events: Iterable[Component]) -> set[str]:
    """The UIDs of the recurring series a calendar defines (those with a master event).
    Their events are expanded here; any other event, including an override whose series
    the calendar does not hold (as some invitations carry), is a single event."""
    return {str(event.get("UID", "")) for event in events if _is_master(event)}


def _steps(master: Component, until: datetime, zone: tzinfo) -> float:
    """An upper estimate of how many steps expanding the master's rules up to ``until``
    takes (zero for a series of RDATEs only)."""
    total = 0.0
    for rule in _rules(master):
        if not isinstance(rule, icalendar.vRecur):  # refused by rules_problem before
            continue
        frequency = str((rule.get("FREQ") or ["YEARLY"])[0]).upper()
        period = _PERIOD.get(frequency, timedelta(days=1))
        per_period = math.prod(max(len(rule.get(name) or []), 1) for name in _EXPANDING)
        start = instant(master.decoded("DTSTART"), zone)
        end = until
        if rule.get("UNTIL"):
            end = min(end, instant(rule["UNTIL"][0], zone))
        steps = max((end - start) / period, 1) * per_period
        if rule.get("COUNT"):
            steps = min(steps, float(rule["COUNT"][0]) * per_period)
        total += steps
    return total


def _rules(master: Component) -> list[object]:
    rules = master.get("RRULE")
    return list(rules) if isinstance(rules, list) else [rules] if rules is not None else []


def _refusal(master: Component, until: datetime, zone: tzinfo) -> str | None:
    """Why the series is not expanded (an invalid rule, too many steps), or None."""
    problem = rules_problem(_rules(master), _naive_start(master))
    if problem:
        return f"{problem}: skipped"
    try:
        cost = _steps(master, until, zone)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError,
            OverflowError) as exc:
        return f"cannot be read: {exc}: skipped"
    if cost > MAX_STEPS:
        return f"recurs too often to expand (over {MAX_STEPS} steps): skipped"
    return None


def _naive_start(master: Component) -> datetime | None:
    """The series' DTSTART as dateutil's checks take it, or None if it cannot be read."""
    try:
        first = master.decoded("DTSTART")
    except (KeyError, ValueError, TypeError, AttributeError):
        return None
    return floating(first) if isinstance(first, date) else None


def occurrences(calendar: icalendar.Calendar, start: datetime, until: datetime,
                zone: tzinfo, problems: list[str]) -> list[Component]:
    """The first ``MAX_OCCURRENCES`` occurrences of the calendar's recurring series that
    overlap [start, until], in time order, each with RECURRENCE-ID. Each series is checked,
    then expanded on its own: one with an invalid or too costly rule, or that fails to
    expand, is skipped with a message in ``problems`` naming its UID, and the others still
    count.

    Only the first occurrences are held while expanding (``_Earliest``), and once that many
    are held a series is expanded only up to the latest of them, since nothing later can
    be kept: many series each giving hundreds of occurrences cost what is kept, not all
    they would give (all were built and sorted before, and the CPU budget then skipped
    the series read last, so the earliest were not always the ones kept)."""
    events = calendar.walk("VEVENT")
    masters = series_uids(events)
    series: dict[str, list[Component]] = {}
    for event in events:
        uid = str(event.get("UID", ""))
        if uid in masters:
            series.setdefault(uid, []).append(event)
    timezones = calendar.walk("VTIMEZONE")
    earliest = _Earliest(MAX_OCCURRENCES, zone)
    out_of_time = time.thread_time() + CALENDAR_SECONDS  # CPU: see time_budget
    for uid, members in series.items():
        master = next(e for e in members if _is_master(e))
        name = (uid or str(master.get("SUMMARY", "?")))[:200]
        refusal = _refusal(master, until, zone)
        if refusal:
            problems.append(f"recurring event {name!r}: {refusal}")
            continue
        remaining = out_of_time - time.thread_time()
        if remaining <= 0:
            problems.append(f"recurring event {name!r}: skipped, the calendar's series took "
                            f"more than {CALENDAR_SECONDS:g} seconds of CPU to expand")
            continue
        try:
            with time_limit(min(SERIES_SECONDS, remaining)):
                earliest.add(_expand(timezones, members, start, earliest.horizon(start, until)))
        except OverTimeError as exc:
            problems.append(f"recurring event {name!r}: its rule {exc} to expand "
                            "(it may never occur): skipped")
        except Exception as exc:  # one series must not cost the calendar, whatever it holds
            problems.append(f"recurring event {name!r}: cannot be expanded: "
                            f"{type(exc).__name__}: {str(exc)[:200]}: skipped")
    if earliest.passed_over:
        problems.append(f"over {MAX_OCCURRENCES} occurrences of recurring events in the "
                        f"window: kept the first {MAX_OCCURRENCES}")
    return earliest.in_order()


class _Earliest:
    """The first ``size`` occurrences offered, in time order, ties in the order offered
    (as a stable sort of all of them would give), held in a heap of ``size``."""

    def __init__(self, size: int, zone: tzinfo) -> None:
        self.size = size
        self.zone = zone
        self.passed_over = False  # an occurrence was offered and not kept
        self._heap: list[tuple[float, int, datetime, Component]] = []  # latest on top
        self._offered = 0

    def horizon(self, start: datetime, until: datetime) -> datetime:
        """How far the next series needs expanding: to ``until`` while there is room, else
        to the latest occurrence held (a later one could not be kept)."""
        if len(self._heap) < self.size:
            return until
        self.passed_over = True  # the next series is not expanded to the window's end
        return max(start, min(until, self._heap[0][2]))

    def add(self, found: Iterable[Component]) -> None:
        for event in found:
            moment = instant(event.decoded("DTSTART"), self.zone)
            self._offered += 1
            entry = (-moment.timestamp(), -self._offered, moment, event)
            if len(self._heap) < self.size:
                heapq.heappush(self._heap, entry)
            else:
                self.passed_over = True
                if entry[:2] > self._heap[0][:2]:  # earlier than the latest held
                    heapq.heapreplace(self._heap, entry)

    def in_order(self) -> list[Component]:
        return [entry[3] for entry in sorted(self._heap, key=lambda e: (-e[0], -e[1]))]


def _expand(timezones: list[Component], members: list[Component], start: datetime,
            until: datetime) -> list[Component]:
    """One series' occurrences, from a calendar of its own (its events and the zones)."""
    chosen = icalendar.Calendar()
    for timezone in timezones:
        chosen.add_component(timezone)
    for event in members:
        chosen.add_component(event)
    return list(recurring_ical_events.of(chosen).between(start, until))


def first_of_series(events: Iterable[Component], series: set[str]) -> dict[str, object]:
    """Each series' own DTSTART value by UID (of the ``series`` UIDs only: decoding every
    single event's costs a calendar of 100 000 for nothing): its first occurrence keeps
    the series' key."""
    return {str(e.get("UID", "")): e.decoded("DTSTART") for e in events
            if str(e.get("UID", "")) in series and "RECURRENCE-ID" not in e
            and "DTSTART" in e}
