"""A calendar's own time zones (VTIMEZONE), checked before ``icalendar`` ever sees them.

A VTIMEZONE says when its offsets change with an RRULE, which dateutil walks from the
zone's first DTSTART each time a time in that zone is converted, caching every step: a
zone whose rule is ``FREQ=SECONDLY`` kept one 1 KB calendar's poll busy for hours (1.7
billion steps since 1970) while its memory grew, and no deadline applies to parsing.
``icalendar`` also builds the zone as soon as it parses the block (and keeps it for the
process), so the check is made on the text: a zone changes its offsets a few times a
year, so its rules must be ``FREQ=YEARLY`` and name few days a year, and pass the checks
of every RRULE (``rrule_check``). A zone that fails is cut out of the document and named
in a problem; times given in it are then read in ``site.timezone``, like an unknown
TZID, and the calendar's events are still collected.

``icalendar`` keeps a zone it does not know by name for the whole process, under its
TZID, the first definition winning: Outlook names many different zones "Customized Time
Zone", so a second calendar's 10:00 at -05:00 was read with the first one's +03:00 (eight
hours off, and in ``digest serve`` for as long as it ran). So each zone the calendar
defines under a name zoneinfo does not know is renamed, with its references, after a hash
of its definition: a calendar's times are read in its own zones, and two calendars share
a zone only when they define it alike. Those renamed zones are forgotten once the calendar
is read (``own_zones_in_use``), or a calendar whose zone changes at every poll would grow
``digest serve``'s memory by one zone a poll for as long as it ran.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import icalendar
from icalendar.timezone import tzp

from digest.sources.rrule_check import rule_problem

MAX_CHANGES_A_YEAR = 400
"""The most candidate days one zone rule may name in a year (the product of its BY*
parts' lengths); real zones name one, old ones 7 (``BYMONTHDAY=8,...,14;BYDAY=SU``)."""

_KNOWN = frozenset(zoneinfo.available_timezones())
_FOLD = re.compile(rb"\r?\n[ \t]")
_BLOCK = re.compile(rb"^BEGIN:VTIMEZONE\r?$.*?^END:VTIMEZONE\r?$\n?",
                    re.IGNORECASE | re.MULTILINE | re.DOTALL)
_RULE = re.compile(rb"^RRULE(?:;[^:\r\n]*)?:([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_TZID_PARAM = re.compile(rb';TZID=("?)([^";:\r\n]*)\1(?=[;:])', re.IGNORECASE)
_TZID_LINE = re.compile(rb"^(TZID(?:;[^:\r\n]*)?:)([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_TZID = re.compile(rb"^TZID(?:;[^:\r\n]*)?:([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_RENAMED = re.compile(rb" \[[0-9a-f]{16}\]$")


_in_use: Counter[str] = Counter()  # renamed zones, by the calendars being read in them
_in_use_lock = threading.Lock()


def _cached_zones() -> dict[str, object]:
    """icalendar's process-wide cache of zones it does not know by name (private: no API
    forgets a zone; ``test_renamed_zones_are_forgotten_after_the_parse`` guards it)."""
    cache: dict[str, object] = getattr(tzp, "_TZP__tz_cache", {})
    return cache


@contextmanager
def own_zones_in_use(data: bytes) -> Iterator[None]:
    """While a calendar (``checked_zones``' bytes) is read: on leaving, icalendar forgets
    the zones renamed for it that no other calendar being read uses."""
    names = [name.decode("utf-8", "replace").strip("/") for name in _renamed(data)]
    with _in_use_lock:
        _in_use.update(names)
    try:
        yield
    finally:
        with _in_use_lock:
            _in_use.subtract(names)
            cache = _cached_zones()
            for name in names:
                if _in_use[name] <= 0:
                    del _in_use[name]
                    cache.pop(name, None)


def _renamed(data: bytes) -> set[bytes]:
    """The TZIDs of the zones ``_own_names`` renamed in ``data``."""
    return {found.group(1).strip() for found in _TZID.finditer(data)
            if _RENAMED.search(found.group(1).strip())}


def checked_zones(data: bytes) -> tuple[bytes, list[str]]:
    """The calendar's bytes without the time zones whose rules cannot be run and with its
    own zones renamed (unfolded: iCalendar allows it), and a problem naming each zone
    left out."""
    if b"VTIMEZONE" not in data.upper():
        return data, []  # no zone of its own: nothing to check or rename
    unfolded = _FOLD.sub(b"", data)
    problems: list[str] = []

    def keep_or_cut(block: re.Match[bytes]) -> bytes:
        text = block.group(0)
        reason = next(filter(None, (_rule_problem(rule) for rule in _RULE.findall(text))),
                      None)
        if reason is None:
            return text
        found = _TZID.search(text)
        name = found.group(1).decode("utf-8", "replace").strip()[:100] if found else "?"
        problems.append(f"time zone {name!r} left out: {reason}; times given in it are "
                        "read in site.timezone")
        return b""

    cleaned = _BLOCK.sub(keep_or_cut, unfolded)
    return _own_names(cleaned), problems


def _own_names(data: bytes) -> bytes:
    """``data`` with each zone zoneinfo does not know renamed after its definition."""
    renames: dict[bytes, bytes] = {}
    for block in _BLOCK.finditer(data):
        found = _TZID.search(block.group(0))
        if found is None:
            continue
        name = found.group(1).strip()
        if name.decode("utf-8", "replace").strip("/") in _KNOWN:
            continue
        digest = hashlib.sha256(block.group(0)).hexdigest()[:16].encode()
        renames[name] = name.replace(b'"', b"") + b" [" + digest + b"]"
    if not renames:
        return data

    def param(match: re.Match[bytes]) -> bytes:
        renamed = renames.get(match.group(2))
        return b';TZID="' + renamed + b'"' if renamed else match.group(0)

    def line(match: re.Match[bytes]) -> bytes:
        renamed = renames.get(match.group(2).strip())
        return match.group(1) + renamed if renamed else match.group(0)

    data = _TZID_PARAM.sub(param, data)  # one pass each, however many zones
    return _TZID_LINE.sub(line, data)


def _rule_problem(value: bytes) -> str | None:
    """Why a zone's RRULE cannot be run cheaply, or None."""
    text = value.decode("utf-8", "replace").strip()
    try:
        rule = icalendar.vRecur.from_ical(text)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return f"RRULE {text[:100]!r} is not a valid rule: {exc}"
    problem = rule_problem(rule)
    if problem:
        return problem
    frequency = str((rule.get("FREQ") or [""])[0]).upper()
    if frequency != "YEARLY":
        return f"a time zone changes its offset yearly, not FREQ={frequency[:20]}"
    days = math.prod(len(values) for part, values in rule.items() if part.startswith("BY"))
    if days > MAX_CHANGES_A_YEAR:
        return (f"its rule names {days} times a year (at most {MAX_CHANGES_A_YEAR} "
                "for a time zone)")
    return None

