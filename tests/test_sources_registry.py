"""The source-type registry: every type the config accepts has a reader, and a type it
does not know is refused by name (never a KeyError, never a silent default)."""

from __future__ import annotations

from typing import get_args

import pytest

from digest.config import SourceSettings
from digest.errors import SourceError
from digest.sources import poll_source
from digest.sources.registry import READERS, Fetches, ReadsFolder, source_type
from digest.testing import build_settings
from tests.test_sources_parsers import CLOCK, FIXTURES, THEMES


def test_every_configurable_type_has_a_reader_and_no_other() -> None:
    configurable = set(get_args(SourceSettings.model_fields["type"].annotation))
    assert configurable == set(READERS)


def test_types_fetch_or_read_a_folder_as_they_should() -> None:
    assert isinstance(source_type("folder"), ReadsFolder)
    feed, calendar = source_type("feed"), source_type("ical")
    assert isinstance(feed, Fetches) and "application/atom+xml" in feed.accept
    assert isinstance(calendar, Fetches) and calendar.accept.startswith("text/calendar")


def test_an_unknown_type_is_a_source_error_naming_the_known_ones() -> None:
    with pytest.raises(SourceError, match=r"unknown source type 'gopher' "
                                          r"\(known types: feed, folder, ical\)"):
        source_type("gopher")


def test_a_poll_of_an_unknown_type_fails_that_source_with_the_message() -> None:
    # past the config's own check, as a config from a newer version could arrive
    source = SourceSettings.model_construct(id="odd", type="gopher",
                                            url="gopher://example.org/feed")
    poll = poll_source(source, build_settings(FIXTURES, themes=THEMES), CLOCK)
    assert poll.items is None
    assert poll.error == ("source 'odd' (gopher://example.org/feed): unknown source type "
                          "'gopher' (known types: feed, folder, ical)")


def test_entries_say_whether_they_are_fetched_and_change_with_the_month() -> None:
    # the pool takes turns by host only for fetched types; a calendar is read again monthly
    assert {name for name, entry in READERS.items() if not entry.fetched} == {"folder"}
    assert {name for name, entry in READERS.items() if entry.expands_ahead} == {"ical"}
