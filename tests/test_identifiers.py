"""The stored names of edition series, edition labels and variants: built and parsed in one
place, and their text unchanged (it is in every database and on operators' lips)."""

from __future__ import annotations

import pytest

from digest.identifiers import EditionKind, EditionSeries, parse_label


@pytest.mark.parametrize(("stored", "kind", "name"), [
    ("weekly", EditionKind.DIGEST, "weekly"),
    ("bulletin:2019-03-wg", EditionKind.BULLETIN, "2019-03-wg"),
])
def test_an_edition_series_reads_its_stored_text_back(stored: str, kind: EditionKind,
                                                      name: str) -> None:
    series = EditionSeries.parse(stored)
    assert (series.kind, series.name) == (kind, name)
    assert str(series) == stored
    assert series.is_bulletin is (kind is EditionKind.BULLETIN)


def test_labels_name_a_series_and_a_number() -> None:
    assert EditionSeries.of_digest("weekly").label(3) == "weekly/3"
    assert EditionSeries.of_bulletin("wg").label(1) == "bulletin:wg/1"
    assert parse_label("bulletin:wg/1") == (EditionSeries.of_bulletin("wg"), 1)
    assert parse_label("weekly/3") == (EditionSeries.of_digest("weekly"), 3)
    assert parse_label("weekly") is None and parse_label("weekly/x") is None
