"""Recurrence rules a calendar's author got wrong: each is refused before expansion, the
series is named in a problem, and the calendar's other events are still collected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import icalendar
import pytest

from digest.sources.rrule_check import rule_problem
from tests.test_sources_collect import write_config
from tests.test_sources_formats import calendar, items, poll

GOOD = """UID:good@example.org
    DTSTART;VALUE=DATE:20190401
    SUMMARY:One day"""

BAD_RULES = [
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=HOURLY;INTERVAL=0",
    "FREQ=DAILY;INTERVAL=-1",
    "FREQ=WEEKLY;INTERVAL=1000000",
    "FREQ=DAILY;INTERVAL=abc",
    "FREQ=DAILY;COUNT=-3",
    "FREQ=DAILY;COUNT=10000000",
    "FREQ=FORTNIGHTLY",
    "INTERVAL=2",
    "FREQ=DAILY;BYHOUR=99",
    "FREQ=DAILY;BYHOUR=24",
    "FREQ=DAILY;BYMINUTE=60",
    "FREQ=DAILY;BYSECOND=61",
    "FREQ=YEARLY;BYMONTH=13",
    "FREQ=YEARLY;BYMONTH=0",
    "FREQ=MONTHLY;BYMONTHDAY=0",
    "FREQ=MONTHLY;BYMONTHDAY=32",
    "FREQ=MONTHLY;BYMONTHDAY=-32",
    "FREQ=YEARLY;BYYEARDAY=0",
    "FREQ=YEARLY;BYYEARDAY=367",
    "FREQ=YEARLY;BYWEEKNO=0",
    "FREQ=YEARLY;BYWEEKNO=54",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=367",
    "FREQ=MONTHLY;BYSETPOS=1",
    "FREQ=WEEKLY;BYDAY=XX",
    "FREQ=WEEKLY;BYDAY=1MO",
    "FREQ=MONTHLY;BYDAY=6MO",
    "FREQ=MONTHLY;BYDAY=0MO",
    "FREQ=WEEKLY;WKST=XX",
    "FREQ=DAILY;BYWEEKNO=1",
    "FREQ=WEEKLY;BYMONTHDAY=1",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;COUNT=3;UNTIL=20190401T000000Z",
    # Valid parts that never meet: dateutil would search every period to the year 9999.
    "FREQ=HOURLY;INTERVAL=2;BYHOUR=1",  # from 10:00, every other hour is never 1:00
    "FREQ=DAILY;BYSETPOS=2;BYHOUR=1",
    "FREQ=HOURLY;BYSETPOS=-2;BYHOUR=1",
    "FREQ=HOURLY;BYMONTHDAY=31;BYMONTH=4,6",
]


def series(rule: str) -> str:
    return f"""UID:bad@example.org
    DTSTAMP:20190301T000000Z
    DTSTART:20190320T100000Z
    RRULE:{rule}
    SUMMARY:Bad series"""


@pytest.mark.parametrize("rule", BAD_RULES)
def test_a_bad_rule_leaves_out_its_series_only(tmp_path: Path, rule: str) -> None:
    result = poll(tmp_path, "c.ics", calendar(series(rule), GOOD), "ical")
    assert [i.title for i in items(result)] == ["One day"]
    (problem,) = result.problems
    assert "'bad@example.org'" in problem and "RRULE" in problem and "skipped" in problem


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY;INTERVAL=2;COUNT=5", "FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1",
    # Not BYWEEKNO=-53: dateutil finds no occurrence and searches for seconds of CPU under
    # the time limit's tracing (1.4-1.9 s on a slow machine against the 2 s limit).
    "FREQ=YEARLY;BYWEEKNO=-1;BYDAY=MO", "FREQ=DAILY;BYHOUR=0,23;BYMINUTE=0,59",
    "FREQ=YEARLY;BYYEARDAY=-366,366;WKST=SU", "FREQ=HOURLY;INTERVAL=2;BYHOUR=12",
    "FREQ=DAILY;BYSETPOS=2;BYHOUR=1,5",
])
def test_a_valid_rule_is_expanded(tmp_path: Path, rule: str) -> None:
    assert rule_problem(_parsed(rule)) is None
    result = poll(tmp_path, "c.ics", calendar(series(rule), GOOD), "ical")
    assert result.problems == ()
    assert "One day" in [i.title for i in items(result)]


def _parsed(rule: str) -> object:
    event = icalendar.Calendar.from_ical(calendar(series(rule)).encode()).walk("VEVENT")[0]
    return event.get("RRULE")


def test_a_series_that_fails_to_expand_costs_only_itself(tmp_path: Path) -> None:
    """A valid rule whose series still cannot be expanded (here a start the expander
    cannot read with its RDATE) is skipped on its own, the other series kept."""
    weekly = """UID:weekly@example.org
    DTSTART:20190320T100000Z
    RRULE:FREQ=WEEKLY;COUNT=3
    SUMMARY:Weekly"""
    broken = """UID:broken@example.org
    DTSTART;VALUE=DATE:20190320
    RDATE:20190321T100000Z,notadate
    SUMMARY:Broken"""
    result = poll(tmp_path, "c.ics", calendar(weekly, broken, GOOD), "ical")
    titles = [i.title for i in items(result)]
    assert titles.count("Weekly") == 3 and "One day" in titles and "Broken" not in titles
    assert any("broken@example.org" in problem for problem in result.problems)


def test_collect_returns_on_a_calendar_with_interval_zero(tmp_path: Path) -> None:
    (tmp_path / "min.ics").write_bytes(calendar(series("FREQ=DAILY;INTERVAL=0"), GOOD)
                                       .encode())
    write_config(tmp_path, "  - {id: h, type: ical, url: min.ics, every: 1h, kind: event}")
    result = subprocess.run(
        [sys.executable, "-m", "digest", "--now", "2019-03-18T08:00:00+01:00", "collect"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert "source h: 1 new" in result.stdout, result.stdout + result.stderr
    assert "'bad@example.org'" in result.stdout and "INTERVAL" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("rule", [
    "FREQ=HOURLY;BYYEARDAY=366;BYMONTH=1",  # each part valid; the 366th day is in December
    "FREQ=MINUTELY;UNTIL=20190401T000000Z;BYYEARDAY=-366;BYMONTH=12",
])
def test_a_rule_that_never_occurs_is_stopped_and_the_rest_kept(tmp_path: Path,
                                                                rule: str) -> None:
    """What no check foresees, the time limit stops: dateutil would search to 9999."""
    result = poll(tmp_path, "c.ics", calendar(series(rule), WEEKLY_SERIES, GOOD), "ical")
    titles = [i.title for i in items(result)]
    assert titles.count("Weekly") == 3 and "One day" in titles
    (problem,) = result.problems
    assert "'bad@example.org'" in problem and "skipped" in problem


WEEKLY_SERIES = """UID:weekly@example.org
    DTSTART:20190320T100000Z
    RRULE:FREQ=WEEKLY;COUNT=3
    SUMMARY:Weekly"""


def _zone(name: str, rule: str, start: str = "19700101T000000") -> str:
    return (f"BEGIN:VTIMEZONE\r\nTZID:{name}\r\nBEGIN:STANDARD\r\nDTSTART:{start}\r\n"
            f"RRULE:{rule}\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\n"
            "END:VTIMEZONE\r\n")


@pytest.mark.parametrize(("rule", "reason"), [
    ("FREQ=SECONDLY", "a time zone changes its offset yearly, not FREQ=SECONDLY"),
    ("FREQ=DAILY", "not FREQ=DAILY"),
    ("FREQ=YEARLY;BYHOUR=" + ",".join(map(str, range(24))) + ";BYMINUTE="
     + ",".join(map(str, range(60))), "its rule names 1440 times a year (at most 400"),
    ("FREQ=YEARLY;INTERVAL=0", "INTERVAL"),
], ids=["secondly", "daily", "every-minute-yearly", "interval-0"])
def test_a_time_zone_whose_rule_cannot_be_run_is_left_out(tmp_path: Path, rule: str,
                                                          reason: str) -> None:
    """dateutil walks a zone's rule from its first DTSTART at every conversion: with
    FREQ=SECONDLY since 1970 one 1 KB calendar kept its poll busy for hours. (Here the
    zone starts the day of the event, so the test is quick before the fix too.)"""
    slug = f"Test/Hostile-{abs(hash(rule))}"  # icalendar keeps zones for the process
    document = calendar(GOOD, f"""UID:zoned@example.org
    DTSTART;TZID={slug}:20190401T100000
    SUMMARY:In the hostile zone""", """UID:fine@example.org
    DTSTART;TZID=Test/Fine:20190401T100000
    SUMMARY:In a fine zone""").replace(
        "BEGIN:VEVENT", _zone(slug, rule, "20190401T000000")
        + _zone("Test/Fine", "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1") + "BEGIN:VEVENT", 1)
    result = poll(tmp_path, "zones.ics", document, type_="ical")
    found = {item.title: item for item in items(result)}
    assert set(found) == {"One day", "In the hostile zone", "In a fine zone"}
    fine = found["In a fine zone"].event
    assert fine is not None and fine.start.isoformat() == "2019-04-01T07:00:00+00:00"
    [problem] = result.problems
    assert f"time zone {slug!r} left out: " in problem and reason in problem, problem
    assert "read in site.timezone" in problem


def _outlook_calendar(offset: str, uid: str) -> str:
    """An event at 10:00 in a zone named as Outlook names many: "Customized Time Zone"."""
    zone = ("BEGIN:VTIMEZONE\r\nTZID:Customized Time Zone\r\nBEGIN:STANDARD\r\n"
            f"DTSTART:16010101T000000\r\nTZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\n"
            "END:STANDARD\r\nEND:VTIMEZONE\r\n")
    return calendar(f"""UID:{uid}
    DTSTART;TZID="Customized Time Zone":20190401T100000
    SUMMARY:Single""", f"""UID:{uid}-weekly
    DTSTART;TZID=Customized Time Zone:20190402T100000
    RRULE:FREQ=WEEKLY;COUNT=2
    SUMMARY:Weekly""").replace("BEGIN:VEVENT", zone + "BEGIN:VEVENT", 1)


def test_each_calendar_is_read_in_its_own_zones(tmp_path: Path) -> None:
    """icalendar kept the first definition of a zone name it does not know for the whole
    process: the second calendar's 10:00 at -05:00 was read as 10:00 at +03:00."""
    starts = {}
    for offset, uid in (("+0300", "east"), ("-0500", "west"), ("+0300", "east-again")):
        result = poll(tmp_path, f"{uid}.ics", _outlook_calendar(offset, uid), type_="ical")
        assert result.problems == ()
        starts[uid] = sorted(f"{item.title} {item.event.start:%d %H:%M}"
                             for item in items(result) if item.event is not None)
    assert starts["east"] == ["Single 01 07:00", "Weekly 02 07:00", "Weekly 09 07:00"]
    assert starts["west"] == ["Single 01 15:00", "Weekly 02 15:00", "Weekly 09 15:00"]
    assert starts["east-again"] == starts["east"]


def test_renamed_zones_are_forgotten_after_the_parse(tmp_path: Path) -> None:
    """A calendar whose zone definition changes at every poll must not grow icalendar's
    process-wide cache of zones by one each poll (``digest serve`` runs for months)."""
    cache = icalendar.timezone.tzp._TZP__tz_cache  # type: ignore[attr-defined]
    before = set(cache)
    for minutes in range(20):
        offset = f"+{minutes // 60:02d}{minutes % 60:02d}"
        result = poll(tmp_path, "changing.ics", _outlook_calendar(offset, "changing"),
                      type_="ical")
        assert len(items(result)) == 3
    assert {name for name in set(cache) - before if "Customized" in name} == set()
