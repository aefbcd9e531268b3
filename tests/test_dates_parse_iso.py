"""``dates.parse_iso`` is the one reader of ISO 8601 text (notes, bulletin front matter, JSON
Feed, the store): a date stays a date unless a time is asked for or written, and a wrong
date fails with Python's own reason, which the callers quote."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from digest.dates import parse_iso


def test_a_date_stays_a_date_and_a_time_makes_a_date_time() -> None:
    assert parse_iso(" 2019-03-27\n") == date(2019, 3, 27)
    assert type(parse_iso("2019-03-27")) is date
    assert parse_iso("2019-03-27T10:00:00+01:00") == datetime(
        2019, 3, 27, 10, tzinfo=timezone(timedelta(hours=1)))
    assert parse_iso("2019-03-27 10:00") == datetime(2019, 3, 27, 10)


def test_with_time_asks_for_one_form() -> None:
    assert parse_iso("2019-03-27", with_time=True) == datetime(2019, 3, 27)
    assert parse_iso("2019-03-27T10:00:00Z", with_time=True) == datetime(
        2019, 3, 27, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_iso("2019-03-27T10:00", with_time=False)


def test_a_wrong_date_gives_pythons_reason() -> None:
    with pytest.raises(ValueError, match="day is out of range for month"):
        parse_iso("2019-02-30")
    with pytest.raises(ValueError):
        parse_iso("next Tuesday")
