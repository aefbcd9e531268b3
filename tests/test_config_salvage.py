"""The cross-checks run on whichever pieces of a refused config are valid: pieces found by
each field's own type (``digest.config.salvage``), not by a second copy of the shape."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from digest.config import DigestSettings, Settings, SourceSettings, load_settings
from digest.config.salvage import Salvage
from digest.errors import ConfigError

DATA = {
    "site": {"title": "F", "base_url": "https://f.example.org", "language": "<x>",
             "timezone": "Europe/Brussels", "sender": {"name": "F", "address": "f@x.org"}},
    "themes": {"economy": None, "culture": {"title": "Culture"}},
    "sources": [{"id": "a", "type": "feed", "url": "https://x.org/a", "every": "soon"},
                {"id": "b", "type": "feed", "url": "https://x.org/b"}],
    "digests": [{"id": "weekly", "title": "W", "cron": "0 8 * * mon", "max_items": "many"}],
}


def test_valid_pieces_are_kept_with_their_keys_and_the_invalid_ones_dropped() -> None:
    parts = Salvage.of(Settings, DATA)
    assert parts.value(("site", "timezone"), str) == "Europe/Brussels"
    assert parts.value(("site", "language"), str) is None  # refused by its own validator
    assert parts.keys(("themes",)) == ["economy", "culture"]  # given, even if invalid
    assert [key for key, _ in parts.entries(("sources",), SourceSettings)] == [1]
    assert parts.entries(("digests",), DigestSettings) == []
    assert parts.value(("digests", 0, "id"), str) == "weekly"
    assert parts.value(("feeds", "every"), timedelta) == timedelta(minutes=15)  # a default


def test_a_whole_settings_reads_the_same_way() -> None:
    site = {"title": "F", "base_url": "https://f.example.org", "timezone": "Europe/Brussels",
            "sender": {"name": "F", "address": "f@x.org"}}
    parts = Salvage.whole(Settings.model_validate(
        {"site": site, "themes": {"economy": {"title": "Economy"}}}))
    assert parts.value(("site", "timezone"), str) == "Europe/Brussels"
    assert parts.keys(("themes",)) == ["economy"]
    assert parts.value(("nowhere", 3), str) is None


def test_an_invalid_theme_or_digest_still_counts_for_references(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "schedules.yaml").write_text(
        "site: {title: F, base_url: 'https://f.example.org', "
        "sender: {name: F, address: f@x.org}}\n"
        "themes: {economy: {title: Economy, colour: red}}\n"
        "digests:\n  - {id: weekly, title: W, cron: '0 8 * * mon', themes: [economy], "
        "max_items: many}\n"
        "bulletins: {path: b, audience: weekly}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "schedules.yaml")
    assert [problem.key for problem in caught.value.problems] == [
        "themes.economy.colour", "digests[0].max_items"]
