"""schedules.yaml: the shipped file loads; a wrong file is refused with file, line and key."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from digest.config import Environment, database_url, load_settings
from digest.errors import ConfigError
from tests.conftest import ROOT, run_digest


def test_shipped_config_loads_with_resolved_paths() -> None:
    settings = load_settings(ROOT / "schedules.yaml")
    assert set(settings.themes) == {"cooperation", "knowledge-society", "economy", "culture",
                                    "environment"}
    assert settings.feeds_dir == ROOT / "feeds"
    assert settings.sources[0].every == timedelta(minutes=30)
    assert settings.delivery.rate == 20.0
    url = database_url(settings, Environment.read({}))
    assert url == f"sqlite:///{ROOT / 'var' / 'digest.db'}"
    override = database_url(settings, Environment.read({"DIGEST_DATABASE_URL": "postgresql://x/y"}))
    assert override == "postgresql://x/y"


def test_spec_example_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "sample" / "feeds").mkdir(parents=True)
    (tmp_path / "sample" / "items").mkdir()
    (tmp_path / "sample" / "bulletins").mkdir()
    (tmp_path / "sample" / "feeds" / "news.atom").write_text("<feed/>")
    (tmp_path / "sample" / "events.ics").write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    (tmp_path / "sample" / "subscribers.csv").write_text("email\n")
    example = ROOT / "tests" / "fixtures" / "spec_example.yaml"
    (tmp_path / "schedules.yaml").write_text(example.read_text())
    settings = load_settings(tmp_path / "schedules.yaml")
    assert settings.digests[0].cron == "0 8 * * mon"


BROKEN = """\
site:
  title: Forum
  base_url: https://forum.example.org
  timezone: Europe/Brussels
  sender: {name: Forum, address: forum@example.org}
themes:
  cooperation: {title: Cooperation}
sources:
  - {id: news, type: feed, url: missing/news.atom, every: soon}
digests:
  - id: weekly
    title: Weekly
    themes: [cooperation, astrology]
    cron: "0 8 * * someday"
    max_items: many
    colour: blue
"""


def test_every_problem_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    path.write_text(BROKEN)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    problems = {(p.key, p.line) for p in caught.value.problems}
    # Type problems are found first; references and schedules once the types are right.
    assert ("sources[0].every", 9) in problems
    assert ("digests[0].max_items", 15) in problems
    assert ("digests[0].colour", 16) in problems
    messages = {p.key: p.message for p in caught.value.problems}
    assert messages["digests[0].colour"] == "unknown key"
    assert all(p.file == str(path) for p in caught.value.problems)


def test_type_errors_and_cross_checks_are_reported_in_one_pass(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    path.write_text(BROKEN.replace("every: soon", "every: 30m").replace("    colour: blue\n", "")
                    + "  - {id: monthly, title: M, cron: '0 8 1 * funday'}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    found = {p.key: p.message for p in caught.value.problems}
    assert "digests[0].max_items" in found  # a type error...
    assert "no such file" in found["sources[0].url"]  # ...and, at once, the cross-checks
    assert "invalid cron" in found["digests[1].cron"]


def test_semantic_problems_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    path.write_text(BROKEN.replace("every: soon", "every: 30m")
                    .replace("max_items: many", "max_items: 5").replace("    colour: blue\n", ""))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    found = {p.key: (p.line, p.message) for p in caught.value.problems}
    assert found["sources[0].url"][0] == 9 and "no such file" in found["sources[0].url"][1]
    assert found["digests[0].themes[1]"] == (13, "unknown theme 'astrology'")
    assert found["digests[0].cron"][0] == 14 and "invalid cron" in found["digests[0].cron"][1]


def test_duplicate_keys_and_yaml_syntax_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    path.write_text(textwrap.dedent("""\
        site: {title: A, base_url: https://x.org, sender: {name: A, address: a@x.org}}
        themes: {}
        themes: {}
    """))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert [(p.key, p.line, p.message) for p in caught.value.problems] == [
        ("themes", 3, "duplicate key")]
    path.write_text("site: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems[0].key == "(syntax)"


def test_cli_refuses_a_broken_config_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "schedules.yaml").write_text(BROKEN)
    result = run_digest(tmp_path, "run", "--once")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "schedules.yaml:16: digests[0].colour: unknown key" in result.stderr
    assert "schedules.yaml:9: sources[0].every" in result.stderr
    assert not (tmp_path / "var").exists(), "nothing may run before the config is valid"


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    result = run_digest(tmp_path, "status")
    assert result.returncode == 2
    assert "schedules.yaml: (file): no such file" in result.stderr
