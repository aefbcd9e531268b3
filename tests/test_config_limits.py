"""Every hostile or impossible value in schedules.yaml: one located line, exit 2, no traceback,
and nothing run (issue 9, section 5). Each class is tried with several members of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import MAX_CONFIG_BYTES
from digest.yaml_loader import MAX_DEPTH
from tests.conftest import run_digest


def _edit(project: Path, old: str, new: str) -> int:
    """Replace ``old`` (once) in the project's config; return the line it is on."""
    path = project / "schedules.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return text[:text.index(old)].count("\n") + 1


def _append(project: Path, extra: str) -> int:
    path = project / "schedules.yaml"
    text = path.read_text()
    path.write_text(text + extra)
    return text.count("\n") + 1


def _refused(project: Path, expected: str) -> str:
    result = run_digest(project, "status")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    problems = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert len(problems) == 1, result.stderr
    assert expected in problems[0], result.stderr
    assert not (project / "var").exists(), "nothing may run before the config is valid"
    return problems[0]


def _alias_bomb(levels: int) -> str:
    lines = ["  a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    for previous, name in list(zip("abcdefghijkl", "bcdefghijklm", strict=True))[: levels - 1]:
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "x-bomb:\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize("extra", [
    _alias_bomb(9),
    _alias_bomb(7),
    # the same bomb as mappings merged into each other
    "x-a: &a {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}\n" + "".join(
        f"x-{n}: &{n} [" + ", ".join([f"*{p}"] * 10) + "]\n"
        for p, n in zip("abcdef", "bcdefg", strict=True)),
], ids=["9-levels", "7-levels", "mappings"])
def test_an_alias_bomb_is_refused_at_once(project: Path, extra: str) -> None:
    line = _append(project, extra)
    problem = _refused(project, "(file): refused: more than 100000 values")
    assert int(problem.split(":")[1]) >= line


@pytest.mark.parametrize("extra", ["x: &r [*r]\n", "x: &r {self: *r}\n",
                                   "x: &r\n  - a\n  - [b, *r]\n"])
def test_a_recursive_alias_is_refused(project: Path, extra: str) -> None:
    line = _append(project, extra)
    _refused(project, f"schedules.yaml:{line}: (file): refused: an alias refers to the node")


@pytest.mark.parametrize("extra", [
    "x: " + "[" * 5000 + "]" * 5000 + "\n",
    "x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
    "x:\n" + "".join("  " * depth + "- \n" for depth in range(1, 200)),
    # within the limit alone, over it once the alias is copied in
    f"x: &deep {'[' * (MAX_DEPTH - 2)}{']' * (MAX_DEPTH - 2)}\n"
    f"y: {'[' * (MAX_DEPTH - 2)}*deep{']' * (MAX_DEPTH - 2)}\n",
], ids=["flow-lists", "flow-maps", "block-lists", "via-alias"])
def test_deep_nesting_is_refused(project: Path, extra: str) -> None:
    _append(project, extra)
    _refused(project, f"(file): refused: nested deeper than {MAX_DEPTH} levels")


def test_a_config_over_the_size_limit_is_refused_before_reading(project: Path) -> None:
    _append(project, "# " + "x" * MAX_CONFIG_BYTES + "\n")
    _refused(project, "schedules.yaml: (file): the file is 1.002 MB, over the limit of 1 MB")


def test_a_config_that_is_not_utf8_names_its_line(project: Path) -> None:
    path = project / "schedules.yaml"
    line = _edit(project, "title: EUROCITIES", "title: EUROCITÉS")
    path.write_bytes(path.read_text().encode("latin-1"))
    _refused(project, f"schedules.yaml:{line}: (file): not UTF-8 (byte 0xc9)")


@pytest.mark.parametrize(("old", "new", "key", "message"), [
    ("every: 30m}", "every: 99999999999999w}", "sources[0].every", "must be at most 3650d"),
    ("every: 30m}", "every: 1e400}", "sources[0].every", "expected a duration"),
    ("every: 30m}", "every: .nan}", "sources[0].every", "expected a duration"),
    ("every: 30m}", "every: -5}", "sources[0].every", "expected a duration"),
    ("every: 30m}", "every: 0s}", "sources[0].every", "must be at least 1m, got 0s"),
    ("every: 30m}", "every: 59s}", "sources[0].every", "must be at least 1m, got 59s"),
    ("every: 15m", "every: 0.5s", "feeds.every", "must be at least 1m"),
    ("max_age: 30d", "max_age: 0s", "digests[0].max_age", "must be at least 1h"),
    ("max_age: 30d", "max_age: 999999999999d", "digests[0].max_age", "must be at most"),
], ids=["overflow", "huge-float", "nan", "negative", "zero", "under-a-minute", "feeds",
        "max-age-zero", "max-age-overflow"])
def test_durations_are_bounded(project: Path, old: str, new: str, key: str,
                               message: str) -> None:
    line = _edit(project, old, new)
    _refused(project, f"schedules.yaml:{line}: {key}: {message}")


@pytest.mark.parametrize("rate", ["0/s", "0", "-1", ".nan", ".inf", "-.inf", "0.0/m",
                                  "1000000/s"])
def test_rates_are_positive_finite_and_bounded(project: Path, rate: str) -> None:
    line = _edit(project, "rate: 20/s", f"rate: {rate}")
    _refused(project, f"schedules.yaml:{line}: delivery.rate: ")


@pytest.mark.parametrize("port", ["true", "false", "'8040'", "0", "65536", "8040.5", "-1"])
def test_a_port_is_an_integer_from_1_to_65535(project: Path, port: str) -> None:
    line = _edit(project, "port: 8040", f"port: {port}")
    _refused(project, f"schedules.yaml:{line}: web.port: ")


@pytest.mark.parametrize("host", ["'x; y'", "'a b'", "-bad.example", "''", "'host/path'",
                                  "'" + "a" * 64 + ".example'", "'[::1]'"])
def test_web_host_is_a_host_name_or_an_ip_address(project: Path, host: str) -> None:
    line = _edit(project, "host: 127.0.0.1", f"host: {host}")
    _refused(project, f"schedules.yaml:{line}: web.host: expected a host name or an IP")


@pytest.mark.parametrize("host", ["localhost", "0.0.0.0", "::1", "digest.example.org"])
def test_valid_hosts_are_accepted(project: Path, host: str) -> None:
    _edit(project, "host: 127.0.0.1", f"host: '{host}'")
    result = run_digest(project, "status")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("language", ["'\"><script>'", "'<script>'", "a" * 28, "en_GB", "e",
                                      "'en-'", "123"])
def test_site_language_is_a_bcp47_tag(project: Path, language: str) -> None:
    line = _edit(project, "language: en", f"language: {language}")
    _refused(project, f"schedules.yaml:{line}: site.language: expected a BCP 47 language tag")


@pytest.mark.parametrize(("old", "new", "key"), [
    ("max_items: 40", "max_items: true", "digests[0].max_items"),
    ("entries: 50", "entries: 0", "feeds.entries"),
    ("concurrency: 4", "concurrency: 100000", "delivery.concurrency"),
    ("max_items: 40", "max_items: !!int forty", "(syntax)"),
], ids=["bool-as-int", "zero-entries", "huge-concurrency", "unreadable-tagged-value"])
def test_other_values_out_of_range_are_located(project: Path, old: str, new: str,
                                               key: str) -> None:
    line = _edit(project, old, new)
    _refused(project, f"schedules.yaml:{line}: {key}: ")


def test_an_impossible_date_where_text_is_expected_is_kept_as_text(project: Path) -> None:
    _edit(project, "title: Social Affairs weekly", "title: 2019-02-30")
    result = run_digest(project, "status")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("old", "new", "key"), [
    ("every: 30m}", "every: '" + "9" * 100_000 + "w'}", "sources[0].every"),
    ("every: 30m}", "every: " + "9" * 100_000 + "}", "(syntax)"),
    ("rate: 20/s", "rate: " + "x" * 100_000, "delivery.rate"),
    ("port: 8040", "port: [" + "1, " * 30_000 + "1]", "web.port"),
    ("timezone: Europe/Brussels", "timezone: " + "Z" * 100_000, "site.timezone"),
], ids=["duration", "huge-number", "rate", "port-list", "timezone"])
def test_a_huge_value_is_quoted_short(project: Path, old: str, new: str, key: str) -> None:
    line = _edit(project, old, new)
    problem = _refused(project, f"schedules.yaml:{line}: {key}: ")
    assert len(problem) < 300, problem


@pytest.mark.parametrize(("old", "new", "key"), [
    ("address: forum@example.org}", "address: 'forüm@example.org'}", "site.sender.address"),
    ("approval: false", "approval: false\n    coordinators: ['josé@example.org']",
     "digests[0].coordinators"),
], ids=["sender", "digest-coordinator"])
def test_an_address_that_needs_smtputf8_is_refused(project: Path, old: str, new: str,
                                                   key: str) -> None:
    line = _edit(project, old, new)
    problem = _refused(project, f"schedules.yaml:{line + (1 if 'coordinators' in new else 0)}:"
                                f" {key}")
    assert "non-ASCII characters before the @ need SMTPUTF8" in problem


def test_a_non_ascii_sender_domain_is_used_in_ascii(project: Path) -> None:
    from digest.config import load_settings

    _edit(project, "address: forum@example.org}", "address: 'forum@exämple.org'}")
    settings = load_settings(project / "schedules.yaml")
    assert settings.site.sender.address == "forum@xn--exmple-cua.org"


_LONG_NAME = "n" * 300


@pytest.mark.parametrize(("old", "new", "key", "reason"), [
    ("path: sample/bulletins", "path: \"sample/bull\\0etins\"", "bulletins.path",
     "a path cannot hold a NUL character"),
    ("path: sample/items", f"path: sample/{_LONG_NAME}", "sources[4].path",
     "a file name of 300 bytes, over the system's 255"),
    ("url: sample/events.ics", f"url: {'d/' * 2100}e.ics", "sources[3].url",
     "a path of 4205 bytes, over the system's 4096"),
    ("import: sample/subscribers.csv", f"import: {_LONG_NAME}.csv", "subscribers.import",
     "a file name of 304 bytes"),
    ("output: .", f"output: {_LONG_NAME}", "site.output", "a file name of 300 bytes"),
    ("feeds: {every: 15m,", f"feeds: {{path: {_LONG_NAME}, every: 15m,", "feeds.path",
     "a file name of 300 bytes"),
    ("database: sqlite:///var/digest.db", f"database: sqlite:///var/{_LONG_NAME}.db",
     "site.database", "a file name of 303 bytes"),
], ids=["nul", "long-name", "long-path", "import", "output", "feeds", "database"])
def test_a_path_no_file_can_have_is_refused_at_its_key(project: Path, old: str, new: str,
                                                        key: str, reason: str) -> None:
    """Looking such a path up raises (ValueError, ENAMETOOLONG) instead of answering "no
    such file": the config's checks crashed with a traceback, exit 1."""
    line = _edit(project, old, new)
    result = run_digest(project, "status")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"schedules.yaml:{line}: {key}: {reason}" in result.stderr, result.stderr
    assert not (project / "var").exists()


@pytest.mark.parametrize("url", ["http://reader:s3cret@example.org/feed.xml",
                                 "HTTPS://:s3cret@example.org/feed.xml",
                                 " https://reader:s3cret@example.org:8443/feed.xml"])
def test_a_source_url_holding_a_password_is_refused_without_printing_it(
        project: Path, url: str) -> None:
    """A source's URL is printed by ``collect``, ``status`` and the console: the password
    was shown in every failure and stored with it."""
    line = _edit(project, "url: sample/feeds/innovation.rss", f'url: "{url}"')
    problem = _refused(project, "a URL holding a password (user:password@) is refused")
    assert problem.startswith(f"schedules.yaml:{line}: sources[1].url: ")
    assert "s3cret" not in problem


@pytest.mark.parametrize("url", ["https://reader@example.org/feed.xml",
                                 "https://example.org:8443/a:b@c/feed.xml"])
def test_a_source_url_without_a_password_is_accepted(project: Path, url: str) -> None:
    _edit(project, "url: sample/feeds/innovation.rss", f'url: "{url}"')
    result = run_digest(project, "status")
    assert result.returncode == 0, result.stdout + result.stderr
