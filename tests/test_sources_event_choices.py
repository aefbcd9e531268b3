"""A value read another way than the source wrote it is said: a time in a zone nobody
defines (read in ``site.timezone``), an event date past the years anyone schedules in
(the item kept without it). The item is still collected as before."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.test_sources_formats import calendar, items, poll


def test_a_time_in_an_unknown_zone_is_read_in_the_site_zone_and_said(tmp_path: Path) -> None:
    result = poll(tmp_path, "c.ics", calendar("""UID:mars@example.org
    DTSTART;TZID=Mars/Olympus:20190401T100000
    SUMMARY:On Mars""", """UID:mars2@example.org
    DTSTART;TZID=Mars/Olympus:20190402T100000
    SUMMARY:On Mars again""", """UID:paris@example.org
    DTSTART;TZID=Europe/Paris:20190403T100000
    SUMMARY:In Paris"""), type_="ical")
    first = items(result)[0]
    assert first.event is not None
    assert first.event.start == datetime(2019, 4, 1, 8, tzinfo=UTC)  # Brussels, as before
    assert result.problems == ("source 'src' (c.ics): time zone 'Mars/Olympus' is not "
                               "defined by the calendar nor known: times given in it are "
                               "read in site.timezone",)


def test_a_zone_left_out_for_its_rule_is_said_once(tmp_path: Path) -> None:
    zone = ("BEGIN:VTIMEZONE\r\nTZID:Busy\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
            "RRULE:FREQ=SECONDLY\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\n"
            "END:STANDARD\r\nEND:VTIMEZONE\r\n")
    document = calendar("""UID:b@example.org
    DTSTART;TZID=Busy:20190401T100000
    SUMMARY:Busy""").replace("BEGIN:VEVENT", zone + "BEGIN:VEVENT", 1)
    result = poll(tmp_path, "c.ics", document, type_="ical")
    assert len(items(result)) == 1
    assert [p for p in result.problems if "'Busy'" in p] == [
        p for p in result.problems if "'Busy' left out" in p]
    assert len(result.problems) == 1


@pytest.mark.parametrize(("dates", "said"), [
    ("DTSTART:99991231T100000Z", "its start 9999-12-31 10:00:00+00:00 is outside the years "
                                 "1900-2199: kept without an event date"),
    ("DTSTART;VALUE=DATE:18000101", "its start 1800-01-01 is outside the years 1900-2199: "
                                    "kept without an event date"),
    ("DTSTART:20190401T100000Z\r\nDTEND:99991231T100000Z",
     "its end 9999-12-31 10:00:00+00:00 is outside the years 1900-2199: kept without an end"),
])
def test_an_event_date_outside_the_years_is_dropped_and_said(tmp_path: Path, dates: str,
                                                            said: str) -> None:
    result = poll(tmp_path, "c.ics", calendar(f"UID:far@example.org\r\n{dates}\r\n"
                                              "SUMMARY:Far away"), type_="ical")
    (item,) = items(result)
    assert item.title == "Far away"
    assert result.problems == (f"source 'src' (c.ics): event 'Far away': {said}",)
    if "start" in said:
        assert item.event is None
    else:
        assert item.event is not None and item.event.end is None


def test_a_sane_calendar_has_no_problem(tmp_path: Path) -> None:
    result = poll(tmp_path, "c.ics", calendar("""UID:ok@example.org
    DTSTART;TZID=Europe/Paris:20190401T100000
    DTEND:20190401T110000Z
    SUMMARY:Fine"""), type_="ical")
    assert len(items(result)) == 1 and result.problems == ()

