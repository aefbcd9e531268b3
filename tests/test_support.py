"""The shared sample values (tests/support.py) are what the render tests assume: twenty items
in the seed's four sections, and the seed bulletin's six sections."""

from __future__ import annotations

from tests.support import SEED_004_SECTION_TITLES, make_bulletin, make_edition


def test_sample_edition_is_realistic() -> None:
    edition = make_edition()
    assert len(edition.items) == 20
    assert [s.title for s in edition.sections] == ["News", "Events", "Case studies",
                                                   "Publications"]


def test_fixture_bulletin_matches_the_seed() -> None:
    bulletin = make_bulletin()
    assert [s.title for s in bulletin.sections] == SEED_004_SECTION_TITLES
