"""Every date, time and range as a reader expects it, in the reader's language.

Day, month and time patterns come from Babel's CLDR data; how two ends of a range are
joined is this module's own rule, because CLDR changes it between releases (CLDR 47, in
Babel 2.19, put thin spaces around the dash of "25 – 27 March 2019"). The rule, from the
style guides European editors use: the en dash is closed up when the start is a single
word ("25–27 March 2019", "25.–27. März 2019", "15:00–16:00") and spaced when the start
has several ("30 March – 2 April 2019"). Thin and no-break spaces become plain spaces, so
the text is the same in HTML, plain text, PDF and feeds.

A bare ``en`` is written the British way (day before month), as a European forum expects.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from email.utils import format_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, overload

from digest.models import EventInfo

if TYPE_CHECKING:  # Babel and its CLDR data load with the first date written for a reader:
    # the console's stamps below need neither (docs/benchmarks.md, "Start-up")
    from babel import Locale

_SHORT_MONTH = re.compile(r"(?<!M)MMM(?!M)")
_SPACES = str.maketrans({"\u2009": " ", "\u202f": " ", "\u00a0": " ", "\u200a": " "})
_RUNS_OF_SPACES = re.compile(" {2,}")
_DASH_AND_SPACE = " \t\u2009\u202f\u00a0\u200a–—-"
EN_DASH = "–"
_SPACED_DASH = re.compile(r"\s*[–—-]\s*")


@lru_cache(maxsize=64)
def babel_locale(language: str) -> Locale:
    """The Babel locale for a language tag; a bare ``en`` writes dates the British way."""
    from babel import Locale, UnknownLocaleError

    tag = language.replace("-", "_")
    if tag.lower() == "en":
        tag = "en_GB"
    try:
        return Locale.parse(tag)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")


def plain_spaces(text: str) -> str:
    """Thin and no-break spaces as plain ones: the same text in every output."""
    return _RUNS_OF_SPACES.sub(" ", text.translate(_SPACES)).strip()


def join_range(start: str, end: str) -> str:
    """The two ends of a range joined by an en dash, closed up after a one-word start."""
    first = plain_spaces(start).rstrip(_DASH_AND_SPACE)
    last = plain_spaces(end).lstrip(_DASH_AND_SPACE)
    return f"{first}{EN_DASH}{last}" if " " not in first else f"{first} {EN_DASH} {last}"


def titled_range(title: str, dates: str) -> str:
    """A title and the dates it is for, joined by one en dash ("Updates – 25–27 March
    2019"): a title that ends with a dash gets no second one, and one that already says
    those dates (however its dashes are spaced) does not say them twice."""
    head = plain_spaces(title).rstrip(_DASH_AND_SPACE)
    if not head:
        return dates
    if _dashes_closed(dates) in _dashes_closed(head):
        return head
    return f"{head} {EN_DASH} {dates}"


def _dashes_closed(text: str) -> str:
    return _SPACED_DASH.sub(EN_DASH, plain_spaces(text)).casefold()


def format_long_date(value: date | datetime, language: str, zone: tzinfo | None = None) -> str:
    """A date as written in running text: "4 March 2019" (datetimes shown in ``zone``)."""
    if isinstance(value, datetime):
        value = (value.astimezone(zone) if zone else value).date()
    from babel.dates import format_date

    return plain_spaces(format_date(value, "long", locale=babel_locale(language)))


def _interval_parts(locale: Locale, skeleton: str, differs: str) -> tuple[str, str] | None:
    """CLDR's two patterns for a range that differs in ``differs``, when it has them."""
    formats = locale.interval_formats.get(skeleton) or {}
    parts = formats.get(differs) if hasattr(formats, "get") else None
    if not parts or len(parts) != 2:
        return None
    return str(parts[0]), str(parts[1])


def format_date_range(start: date, end: date | None, language: str) -> str:
    """All-day dates: "27 March 2019", "25–27 March 2019", "30 March – 2 April 2019"."""
    locale = babel_locale(language)
    if end is None or end <= start:
        return format_long_date(start, language)
    differs = "y" if start.year != end.year else "M" if start.month != end.month else "d"
    parts = _interval_parts(locale, "yMMMd", differs)
    if parts is None:
        return join_range(format_long_date(start, language), format_long_date(end, language))
    first, second = (_SHORT_MONTH.sub("MMMM", part) for part in parts)
    from babel.dates import parse_pattern

    return join_range(parse_pattern(first).apply(start, locale),
                      parse_pattern(second).apply(end, locale))


def _time(moment: datetime, locale: Locale) -> str:
    from babel.dates import format_time

    return plain_spaces(format_time(moment, "short", locale=locale))


def _time_range(start: datetime, end: datetime, locale: Locale) -> str:
    parts = _interval_parts(locale, "Hm", "H" if start.hour != end.hour else "m")
    if parts is None:
        return join_range(_time(start, locale), _time(end, locale))
    from babel.dates import parse_pattern

    return join_range(parse_pattern(parts[0]).apply(start, locale),
                      parse_pattern(parts[1]).apply(end, locale))


def _day_and_time(day: str, clock: str, locale: Locale) -> str:
    combine = str(locale.datetime_formats.get("medium", "{1}, {0}"))
    return plain_spaces(combine.replace("{1}", day).replace("{0}", clock))


def format_event_dates(event: EventInfo, language: str, zone: tzinfo) -> str:
    """When an event happens, as a reader expects it, in the site's zone for timed events."""
    locale = babel_locale(language)
    start, end = event.start, event.end
    if not isinstance(start, datetime) or (end is not None and not isinstance(end, datetime)):
        first_day = start.date() if isinstance(start, datetime) else start
        last_day = end.date() if isinstance(end, datetime) else end
        return format_date_range(first_day, last_day, language)
    start = start.astimezone(zone)
    day = format_long_date(start.date(), language)
    if end is None:
        return _day_and_time(day, _time(start, locale), locale)
    end = end.astimezone(zone)
    if end.date() == start.date():
        return _day_and_time(day, _time_range(start, end, locale), locale)
    return join_range(_day_and_time(day, _time(start, locale), locale),
                      _day_and_time(format_long_date(end.date(), language), _time(end, locale),
                                    locale))


def zone_name(moment: datetime) -> str:
    """The name of an aware moment's zone as its reader's clock shows it ("CET"), else its
    offset ("+0100"): what a feed adds to a time, since its reader may be anywhere."""
    return moment.tzname() or moment.strftime("%z")


def format_rfc822(moment: datetime) -> str:
    """An aware moment as RFC 822 writes it ("Mon, 18 Mar 2019 08:00:00 +0000"), as OPML
    and mail headers expect: machine text, the same in every language."""
    return format_datetime(moment)


# ---------------------------------------------------------------- coercion (one place)


def as_aware(value: datetime, zone: tzinfo) -> datetime:
    """A date-time with a zone: a naive ("floating") one is read in ``zone``."""
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def date_or_utc(value: date | datetime, zone: tzinfo) -> date | datetime:
    """What sources store: a date stays a date (all day); a date-time becomes aware UTC, a
    floating one read in ``zone``."""
    if isinstance(value, datetime):
        return as_aware(value, zone).astimezone(UTC)
    return value


def instant(value: date | datetime, zone: tzinfo, end_of_day: bool = False) -> datetime:
    """A moment to compare or sort by: a date is its first (or, with ``end_of_day``, its
    last) instant in ``zone``; a date-time is itself, a floating one read in ``zone``."""
    if isinstance(value, datetime):
        return as_aware(value, zone)
    return datetime.combine(value, time.max if end_of_day else time.min, tzinfo=zone)


def utc_instant(value: date | datetime, zone: tzinfo) -> datetime:
    """``instant`` in UTC, as items store their moments: a date is midnight in ``zone``."""
    return instant(value, zone).astimezone(UTC)


def floating(value: date | datetime) -> datetime:
    """A date-time without a zone, as its wall clock reads (a date is its midnight): the
    form dateutil's recurrence rules are checked in."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, time.min)


# ---------------------------------------------------------------- the years a date may be in

# A year 1 or 9999 is no date anyone meant, and at those edges a change of time zone
# overflows (9999-12-31 23:00 UTC is year 10000 in Brussels): every date the product takes
# in (items, events, bulletins) stays within these.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2199, 12, 31, tzinfo=UTC)
YEARS = f"{EARLIEST.year}-{LATEST.year}"


def within_years(value: date | datetime | None) -> bool:
    """Whether a date (or an aware date-time) lies in [EARLIEST, LATEST]; compared as it
    is, since converting a date at the edges is what overflows."""
    if value is None:
        return True
    if isinstance(value, datetime):
        return EARLIEST <= as_aware(value, UTC) <= LATEST
    return EARLIEST.date() <= value <= LATEST.date()



def format_event_dates_with_zone(event: EventInfo, language: str, zone: tzinfo) -> str:
    """``format_event_dates`` with the zone's name after a timed event's time
    ("… 10:00 (CET)"): a feed's reader may be anywhere, while a digest's members read the
    site's own time."""
    when = format_event_dates(event, language, zone)
    if isinstance(event.start, datetime):
        return f"{when} ({zone_name(event.start.astimezone(zone))})"
    return when


# ---------------------------------------------------------------- ISO 8601 text


@overload
def parse_iso(text: str, *, with_time: Literal[False]) -> date: ...


@overload
def parse_iso(text: str, *, with_time: Literal[True]) -> datetime: ...


@overload
def parse_iso(text: str, *, with_time: None = None) -> date | datetime: ...


def parse_iso(text: str, *, with_time: bool | None = None) -> date | datetime:
    """An ISO 8601 date or date-time as people type it in notes, front matter and feeds,
    and as the store keeps it; the white space around it is ignored.

    ``with_time`` None: a date (``2019-03-27``) stays a date, text with a time (after a
    ``T`` or a space) is a date-time; False: only a date; True: a date-time (a date alone is
    its midnight). A date-time is aware when the text gives an offset. Raises ``ValueError``
    with Python's reason (``day is out of range for month``), which callers may quote."""
    text = text.strip()
    if with_time is None:
        with_time = "T" in text or " " in text
    return datetime.fromisoformat(text) if with_time else date.fromisoformat(text)


# ---------------------------------------------------------------- the operator's console

_CONSOLE_DAY = "%Y-%m-%d"
_CONSOLE_STAMP = f"{_CONSOLE_DAY} %H:%M"


def console_stamp(moment: datetime, zone: tzinfo | None = None, *,
                  weekday: bool = False) -> str:
    """A moment as the commands and the service print it for the operator, in ``zone``
    when given: ``2019-03-25 08:00`` (``Mon 2019-03-25 08:00`` with ``weekday``). ISO-like
    whatever the site's language: it is for the operator's eyes and scripts, not members'."""
    shown = moment.astimezone(zone) if zone is not None else moment
    return shown.strftime(f"%a {_CONSOLE_STAMP}" if weekday else _CONSOLE_STAMP)


def console_day(moment: datetime, zone: tzinfo | None = None) -> str:
    """A moment's day as the operator reads it: ``2019-03-25`` (in ``zone`` when given)."""
    shown = moment.astimezone(zone) if zone is not None else moment
    return shown.strftime(_CONSOLE_DAY)


_CONSOLE_FIELD = "%Y-%m-%dT%H:%M"


def console_field(moment: datetime, zone: tzinfo) -> str:
    """A moment as a console form's ``datetime-local`` field holds it, in ``zone`` (the
    site's): ``2019-03-25T08:00``."""
    return moment.astimezone(zone).strftime(_CONSOLE_FIELD)


def parse_console_field(text: str, zone: tzinfo) -> datetime:
    """What a ``datetime-local`` field sent (``2019-03-25T08:00``, seconds allowed), read
    in ``zone``; an offset in the text wins. ``ValueError`` when it is no date-time."""
    text = text.strip()
    if "T" not in text and " " not in text:
        raise ValueError(f"{text!r} has no time of day")
    return as_aware(datetime.fromisoformat(text), zone)
