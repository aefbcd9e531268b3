"""Inputs a reviewer found accepted although wrong, or refused although right (issue 9, §5):
YAML merge keys, look-alike digits in units, legacy IPv4 host forms, members CSV headers and
line breaks, floods of one problem, and titles that are not text or show nothing."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from digest.bulletins import load_bulletin
from digest.config import SourceSettings, load_settings
from digest.errors import MAX_PROBLEMS_PER_KEY, ConfigError
from digest.safetext import has_visible
from digest.sources import Poll, poll_source
from digest.testing import build_settings
from tests.conftest import run_digest
from tests.support import make_settings
from tests.test_bulletins import FRONT, problems_of, write
from tests.test_serve import _free_port, _get_when_up, _start, _wait_for_line
from tests.test_sources_formats import CLOCK, CONFIGURED_THEMES, items, poll
from tests.test_subscribers_import import _import

INNOVATION = "  - {id: innovation, type: feed, url: sample/feeds/innovation.rss, every: 30m}"


def _config(project: Path, old: str, new: str) -> Path:
    path = project / "schedules.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return [str(problem) for problem in caught.value.problems]


# ---------------------------------------------------------------- 1. YAML merge keys


@pytest.mark.parametrize("merged", [
    "  - {<<: *d, id: innovation2}",
    "  - {id: innovation2, <<: *d}",  # the explicit key wins wherever it is written
    "  - <<: *d\n    id: innovation2\n    every: 1h",
    "  - {<<: [*d, {every: 2h}], id: innovation2}",
], ids=["flow", "key-first", "block", "list-of-merges"])
def test_a_merged_key_may_be_overridden(project: Path, merged: str) -> None:
    path = _config(project, INNOVATION, INNOVATION.replace("- {", "- &d {") + "\n" + merged)
    sources = {source.id: source for source in load_settings(path).sources}
    assert sources["innovation2"].url == sources["innovation"].url
    assert run_digest(project, "status").returncode == 0


def test_a_key_written_twice_beside_a_merge_is_still_a_duplicate(project: Path) -> None:
    path = _config(project, INNOVATION, INNOVATION.replace("- {", "- &d {")
                   + "\n  - <<: *d\n    id: innovation2\n    id: innovation3")
    line = path.read_text().splitlines().index("    id: innovation3") + 1
    assert _problems(path) == [f"{path}:{line}: sources[2].id: duplicate key"]


def test_a_duplicate_inside_an_anchor_is_reported_once(project: Path) -> None:
    path = _config(project, INNOVATION, "  - &d {id: innovation, type: feed, every: 1h, "
                   "url: sample/feeds/innovation.rss, every: 30m}\n  - {<<: *d, id: other}")
    assert [p for p in _problems(path) if "duplicate key" in p] == [
        f"{path}:23: sources[1].every: duplicate key"]


def test_bulletin_front_matter_merges_may_be_overridden(tmp_path: Path) -> None:
    text = FRONT.replace("title: Updates", "<<: {title: Merged, place: Ghent}\ntitle: Updates")
    bulletin = load_bulletin(write(tmp_path, text + "Intro.\n"), make_settings())
    assert bulletin.title.startswith("Updates") and bulletin.place == "Ghent"
    twice = FRONT.replace("date: 2019", "<<: {place: Ghent}\nforum: Again\ndate: 2019")
    assert problems_of(write(tmp_path, twice + "Intro.\n")) == [
        f"{tmp_path / 'bulletin.md'}:6: forum: duplicate key (first given on line 3)"]


def test_a_merged_bulletin_key_is_located_at_its_merge(tmp_path: Path) -> None:
    text = FRONT.replace("date: 2019", "<<: {colour: red}\ndate: 2019")
    [problem] = problems_of(write(tmp_path, text + "Intro.\n"))
    assert problem.startswith(f"{tmp_path / 'bulletin.md'}:5: colour: unknown key"), problem


def _poll_notes(tmp_path: Path) -> Poll:
    source = SourceSettings.model_validate({"id": "notes", "type": "folder", "path": "notes"})
    return poll_source(source, build_settings(tmp_path, themes=CONFIGURED_THEMES), CLOCK)


def test_folder_note_merges_may_be_overridden(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text(
        "---\n<<: {title: Merged, date: 2019-03-01}\ntitle: Kept\n---\nBody.\n")
    (item,) = items(_poll_notes(tmp_path))
    assert item.title == "Kept"


# ---------------------------------------------------------------- 2. ASCII units


@pytest.mark.parametrize("value", ["٣٠m", "3０m", "30\u2003m", "30m\u00a0", "\u200930m",
                                   "𝟑𝟎m", "30\tm", "1.٥h"])
def test_a_duration_in_other_digits_or_spaces_is_refused(project: Path, value: str) -> None:
    path = _config(project, "every: 30m}", f"every: \"{value}\"}}")
    [problem] = _problems(path)
    assert ":21: sources[0].every: expected a duration such as 30m" in problem, problem


@pytest.mark.parametrize("value", ["١٠MB", "𝟏𝟎MB", "10\u2003MB", "1０KB", "10\u212aB"])
def test_a_size_in_other_digits_or_letters_is_refused(project: Path, value: str) -> None:
    path = _config(project, "feeds: {every: 15m", f"collect: {{max_bytes: \"{value}\"}}\n"
                   "feeds: {every: 15m")
    [problem] = _problems(path)
    assert "collect.max_bytes: expected a size such as 512KB or 10MB" in problem, problem


@pytest.mark.parametrize("value", ["٢٠/s", "20\u2003/s", "２0/s", "20/\u3000s"])
def test_a_rate_in_other_digits_or_spaces_is_refused(project: Path, value: str) -> None:
    path = _config(project, "rate: 20/s", f"rate: \"{value}\"")
    [problem] = _problems(path)
    assert "delivery.rate: expected a rate such as 20/s" in problem, problem


def test_ascii_units_with_plain_spaces_still_read(project: Path) -> None:
    path = _config(project, "every: 30m}", "every: \" 30 m \"}")
    _config(project, "rate: 20/s", "rate: 20 / s")
    _config(project, "feeds: {every: 15m", "collect: {max_bytes: 10 MB}\nfeeds: {every: 15m")
    settings = load_settings(path)
    assert settings.sources[0].every.total_seconds() == 1800
    assert settings.collect.max_bytes == 10 * 1024**2
    assert settings.delivery.rate == 20


# ---------------------------------------------------------------- 3. web.host


@pytest.mark.parametrize("host", ["0177.0.0.1", "2130706433", "127.1", "0", "0x7f.0.0.1",
                                  "127.0.0.01", "1.2.3.4.5", "١٢٧.0.0.1", "example.123",
                                  "[::1]", "::1::", "host name"])
def test_a_legacy_or_odd_host_is_refused(project: Path, host: str) -> None:
    path = _config(project, "host: 127.0.0.1", f"host: \"{host}\"")
    [problem] = _problems(path)
    assert "web.host: expected a host name or an IP address" in problem, problem


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::1", "::", "fe80::1",
                                  "localhost", "forum.example.org", "forum.example.org.",
                                  "10-0-0-1.example.org", "1e100.net"])
def test_names_and_canonical_addresses_are_accepted(project: Path, host: str) -> None:
    path = _config(project, "host: 127.0.0.1", f"host: \"{host}\"")
    assert load_settings(path).web.host == host


def test_the_host_is_refused_by_the_real_command(project: Path) -> None:
    _config(project, "host: 127.0.0.1", "host: \"0\"")
    result = run_digest(project, "status")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ":48: web.host: expected a host name" in result.stderr, result.stderr


def test_serve_prints_an_ipv6_address_in_brackets(project: Path) -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    port = _free_port()
    _config(project, "{host: 127.0.0.1, port: 8040}", f"{{host: \"::1\", port: {port}}}")
    service = _start(project, "2019-03-18T09:00:00+01:00")
    try:
        lines = _wait_for_line(service, "serving")
        assert f"on http://[::1]:{port}/ " in lines[-1], lines[-1]
        assert _get_when_up(f"http://[::1]:{port}/").status_code == 200
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=30) == 0
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()


# ---------------------------------------------------------------- 4. members CSV


@pytest.mark.parametrize("header", [b"email,email,name\n", b"Email,name, EMAIL \n",
                                    b"email,name,name\n"])
def test_a_column_named_twice_refuses_the_file(project: Path, header: bytes) -> None:
    (project / "members.csv").write_bytes(header + b"a@example.org,b@example.org,A\n")
    result = run_digest(project, "subscribers", "import", "members.csv")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    column = "name" if header.count(b"name") == 2 else "email"
    assert f"members.csv:1: duplicate column '{column}'" in result.stderr, result.stderr
    assert "@example.org" not in run_digest(project, "subscribers", "list").stdout


@pytest.mark.parametrize("row", [b'anna@example.org,"Anna\r\nB",en,weekly,\n',
                                 b'anna@example.org,"Anna\nB",en,weekly,\n',
                                 b'anna@example.org,"Anna\rB",en,weekly,\n',
                                 'anna@example.org,"Anna\u2028B",en,weekly,\n'.encode()])
def test_a_line_break_inside_a_field_is_refused_as_such(project: Path, row: bytes) -> None:
    problems, listing = _import(project, row)
    assert len(problems) == 1, problems
    assert problems[0].startswith("problem: members.csv:2: name: line break inside a field")
    assert "anna@" not in listing


# ---------------------------------------------------------------- 5. floods of one problem


def test_ten_thousand_unknown_themes_in_a_bulletin_are_a_few_lines(tmp_path: Path) -> None:
    themes = ", ".join(f"t{n}" for n in range(10_000))
    text = FRONT.replace("date: 2019", f"themes: [{themes}]\ndate: 2019")
    problems = problems_of(write(tmp_path, text + "Intro.\n"))
    assert len(problems) == MAX_PROBLEMS_PER_KEY + 1, len(problems)
    assert ":5: themes[0]: unknown theme 't0' (known: " in problems[0], problems[0]
    assert problems[-1].endswith(f"themes[5]: ... and {10_000 - MAX_PROBLEMS_PER_KEY} more "
                                 "problems like this"), problems[-1]


def test_many_unknown_bulletin_keys_are_a_few_lines(tmp_path: Path) -> None:
    extra = "".join(f"k{n}: 1\n" for n in range(500))
    problems = problems_of(write(tmp_path, FRONT.replace("date: 2019", extra + "date: 2019")
                                 + "Intro.\n"))
    assert len(problems) == MAX_PROBLEMS_PER_KEY + 1, problems
    assert problems[-1].endswith("... and 495 more unknown keys like this"), problems[-1]


def test_ten_thousand_unknown_default_themes_are_a_few_lines(project: Path) -> None:
    path = project / "schedules.yaml"
    themes = ", ".join(f"t{n}" for n in range(10_000))
    path.write_text(path.read_text().replace("site:\n", f"site:\n  default_themes: [{themes}]\n",
                                             1))
    problems = _problems(path)
    assert len(problems) == MAX_PROBLEMS_PER_KEY + 1, problems[:10]
    assert problems[-1].endswith("... and 9995 more problems like this"), problems[-1]
    result = run_digest(project, "status")
    assert result.returncode == 2 and len(result.stderr) < 2_000, len(result.stderr)


def test_many_unknown_source_keys_are_a_few_lines(project: Path) -> None:
    extra = ", ".join(f"k{n}: 1" for n in range(300))
    path = _config(project, "every: 30m}", f"every: 30m, {extra}}}")
    problems = _problems(path)
    assert len(problems) == MAX_PROBLEMS_PER_KEY + 1, problems
    assert problems[-1].endswith("... and 295 more unknown keys like this"), problems[-1]


# ---------------------------------------------------------------- 6. titles


def _json_feed(title: str) -> str:
    return ('{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", '
            f'"title": {title}, "url": "https://x.example.org/a", '
            '"content_text": "The first words of the text"}]}')


@pytest.mark.parametrize("title", ["1e999", "-1e999", "42", "true", "null", "[\"A\"]",
                                   "{\"t\": \"A\"}"])
def test_a_json_feed_title_that_is_not_text_is_absent(tmp_path: Path, title: str) -> None:
    (item,) = items(poll(tmp_path, "f.json", _json_feed(title)))
    assert item.title == "The first words of the text"


@pytest.mark.parametrize("title", ["\\u200b", "\\u2060\\u200b\\ufeff", " \\u200d ", "\\u3164",
                                   "\\u2800\\u00a0", "<b>\\u200b</b>", "&#8203;", "\\u0301"])
def test_an_invisible_title_falls_back(tmp_path: Path, title: str) -> None:
    (item,) = items(poll(tmp_path, "f.json", _json_feed(f'"{title}"')))
    assert item.title == "The first words of the text"
    document = ('{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", '
                f'"title": "{title}", "url": "https://x.example.org/a"}}]}}')
    (bare,) = items(poll(tmp_path, "g.json", document))
    assert bare.title == "https://x.example.org/a"


def test_an_invisible_text_falls_back_to_the_link_or_untitled(tmp_path: Path) -> None:
    document = ('{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", '
                '"title": "\\u200b", "content_text": "\\u200b\\u2060", '
                '"url": "https://x.example.org/a"}]}')
    (item,) = items(poll(tmp_path, "f.json", document))
    assert item.title == "https://x.example.org/a"


@pytest.mark.parametrize(("text", "visible"), [("A", True), ("\u200bA", True), ("é", True),
                                               ("\u200b\u2060\ufeff", False), ("", False),
                                               ("\u3164\u2800", False), ("\u0301", False),
                                               ("漢", True), ("1", True)])
def test_has_visible(text: str, visible: bool) -> None:
    assert has_visible(text) is visible


def test_a_folder_note_with_an_invisible_or_infinite_title_is_reported(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text("---\ntitle: \"\\u200b\\u2060\"\n---\nBody.\n")
    (tmp_path / "notes" / "b.md").write_text("---\ntitle: .inf\n---\nBody.\n")
    (tmp_path / "notes" / "c.md").write_text("---\ntitle: Fine\n---\nBody.\n")
    result = _poll_notes(tmp_path)
    assert [item.title for item in result.items or ()] == ["Fine"]
    assert [problem.split(": ", 1)[1] for problem in result.problems] == [
        "a.md: front matter needs a title", "b.md: title must be text, got inf"]


@pytest.mark.parametrize("cron", ["0 ٨ * * mon", "0 8 * * ١", "0 8\u2003* * mon", "0 8 * * mon\t",
                                  "٠ 8 * * mon", "0 ８ * * mon"])
def test_a_cron_in_other_digits_or_spaces_is_refused(project: Path, cron: str) -> None:
    path = _config(project, 'cron: "0 8 * * mon"', f'cron: "{cron}"')
    [problem] = _problems(path)
    assert ":36: digests[0].cron: " in problem and "expected ASCII" in problem, problem


@pytest.mark.parametrize(("key", "value", "message"), [
    ("title", ".inf", "expected one line of text"),
    ("title", "-.inf", "expected one line of text"),
    ("title", '"\\u200b\\u2060\\ufeff"', "expected visible text"),
    ("forum", '"\\u3164"', "expected visible text"),
])
def test_a_bulletin_title_that_shows_nothing_is_refused(tmp_path: Path, key: str, value: str,
                                                        message: str) -> None:
    old = next(line for line in FRONT.splitlines() if line.startswith(f"{key}: "))
    line = FRONT.splitlines().index(old) + 1
    [problem] = problems_of(write(tmp_path, FRONT.replace(old, f"{key}: {value}") + "Intro.\n"))
    assert problem.startswith(f"{tmp_path / 'bulletin.md'}:{line}: {key}: {message}"), problem
