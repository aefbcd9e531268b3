"""Collection as an operator sees it: `digest collect`, `run --once` and `status` against a
real local server, over several runs (conditional GET, changes, new sources, failures,
a gone feed, a moved feed, a bad note)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_digest
from tests.feed_server import FeedServer, feed_server, redirect, status

MONDAY = "2019-03-18T09:00:00+01:00"
NEXT_MONDAY = "2019-03-25T09:00:00+01:00"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


def rss(*entries: tuple[str, str, str]) -> bytes:
    """Items as (slug, title, RFC 822 date)."""
    items = "".join(
        f"<item><title>{title}</title><link>https://city.example.org/{slug}</link>"
        f"<description>About {title}</description><pubDate>{date}</pubDate></item>"
        for slug, title, date in entries)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>C'
            f"</title><link>https://city.example.org/</link><description>d</description>"
            f"{items}</channel></rss>").encode()


def write_config(project: Path, sources: str) -> None:
    (project / "schedules.yaml").write_text(f"""# A test config: comments must survive imports.
site:
  title: Forum
  base_url: https://forum.example.org/digest
  timezone: Europe/Brussels
  sender: {{name: Forum, address: forum@example.org}}
themes:
  cooperation: {{title: Cooperation}}
sources:
{sources}
digests:
  - {{id: weekly, title: Weekly, cron: "0 8 * * mon"}}
# No waiting between retries in tests.
collect: {{backoff: 0s, timeout: 2s, deadline: 20s}}
""")


def edition_text(project: Path, number: int) -> str:
    return (project / "out" / "editions" / "weekly" / str(number) / "email.txt").read_text()


def test_an_unchanged_feed_costs_one_304_on_the_next_collection(
    tmp_path: Path, server: FeedServer,
) -> None:
    server.feed("/news.rss", rss(("a", "Lyon pledges", "Thu, 14 Mar 2019 10:00:00 +0100")))
    write_config(tmp_path, f'  - {{id: news, type: feed, url: "{server.url("/news.rss")}"}}')
    first = run_digest(tmp_path, "collect")
    assert first.returncode == 0, first.stderr
    assert "source news: 1 new, 0 updated, 0 duplicate" in first.stdout
    again = run_digest(tmp_path, "collect")
    assert "source news: 0 new, 0 updated, 0 duplicate (not modified)" in again.stdout
    second_request = server.asked("/news.rss")[1].headers
    assert second_request["If-None-Match"] == '"v1"'
    shown = run_digest(tmp_path, "status").stdout
    assert "  news: ok; last success 2019-03-18 08:00; 1 item; polled conditionally" in shown


def test_a_changed_item_is_updated_in_place_and_not_announced_again(
    tmp_path: Path, server: FeedServer,
) -> None:
    feed = server.feed("/news.rss", rss(("a", "Lyon pledges", "Thu, 14 Mar 2019 10:00:00 +0100")))
    write_config(tmp_path, f'  - {{id: news, type: feed, url: "{server.url("/news.rss")}"}}')
    assert run_digest(tmp_path, "run", "--once", now=MONDAY).returncode == 0
    assert "Lyon pledges" in edition_text(tmp_path, 1)
    feed.body = rss(("a", "Lyon pledges (updated)", "Thu, 14 Mar 2019 10:00:00 +0100"),
                    ("b", "Turin panel", "Wed, 20 Mar 2019 10:00:00 +0100"))
    feed.etag = '"v2"'
    later = run_digest(tmp_path, "run", "--once", now=NEXT_MONDAY)
    assert "source news: 1 new, 1 updated, 0 duplicate" in later.stdout
    second = edition_text(tmp_path, 2)
    assert "Turin panel" in second and "Lyon pledges" not in second


def test_a_newly_added_source_does_not_flood_the_next_digest(
    tmp_path: Path, server: FeedServer,
) -> None:
    server.feed("/news.rss", rss(("a", "Lyon pledges", "Thu, 14 Mar 2019 10:00:00 +0100")))
    news = f'  - {{id: news, type: feed, url: "{server.url("/news.rss")}"}}'
    write_config(tmp_path, news)
    assert run_digest(tmp_path, "run", "--once", now=MONDAY).returncode == 0
    archive = [(f"old-{n}", f"Archive story {n}", f"Mon, {n + 1:02d} Jan 2018 10:00:00 +0100")
               for n in range(20)]
    server.feed("/archive.rss", rss(("fresh", "Fresh story", "Fri, 22 Mar 2019 10:00:00 +0100"),
                                    *archive))
    write_config(tmp_path, news + f'\n  - {{id: city, type: feed, url: '
                                  f'"{server.url("/archive.rss")}"}}')
    later = run_digest(tmp_path, "run", "--once", now=NEXT_MONDAY)
    assert "source city: 21 new" in later.stdout
    second = edition_text(tmp_path, 2)
    assert "Fresh story" in second and "Archive story" not in second  # older than max_age
    assert "items stored: 22" in run_digest(tmp_path, "status", now=NEXT_MONDAY).stdout


def test_collect_exits_1_when_a_source_fails_and_keeps_what_the_others_gave(
    tmp_path: Path, server: FeedServer,
) -> None:
    server.feed("/news.rss", rss(("a", "Lyon pledges", "Thu, 14 Mar 2019 10:00:00 +0100")))
    server.route("/down", status(503))
    write_config(tmp_path, f'  - {{id: down, type: feed, url: "{server.url("/down")}"}}\n'
                           f'  - {{id: news, type: feed, url: "{server.url("/news.rss")}"}}')
    result = run_digest(tmp_path, "collect")
    assert result.returncode == 1
    assert (f"source down: FAILED: source 'down' ({server.url('/down')}): HTTP 503 Service "
            f"Unavailable from {server.url('/down')} (gave up after 3 tries)") in result.stdout
    assert "source news: 1 new" in result.stdout
    assert len(server.asked("/down")) == 3
    shown = run_digest(tmp_path, "status").stdout
    assert "items stored: 1" in shown and "  down: failing (1x): source 'down'" in shown


def test_a_gone_feed_is_disabled_until_enabled_again(tmp_path: Path, server: FeedServer) -> None:
    server.route("/gone.rss", status(410))
    write_config(tmp_path, f'  - {{id: gone, type: feed, url: "{server.url("/gone.rss")}"}}')
    first = run_digest(tmp_path, "collect")
    assert first.returncode == 1 and "the source is disabled" in first.stdout
    second = run_digest(tmp_path, "collect")
    assert second.returncode == 0, second.stdout
    assert "source gone: 0 new, 0 updated, 0 duplicate (disabled: HTTP 410 Gone" in second.stdout
    assert len(server.asked("/gone.rss")) == 1
    assert "  gone: DISABLED: HTTP 410 Gone from" in run_digest(tmp_path, "status").stdout
    enabled = run_digest(tmp_path, "sources", "enable", "gone")
    assert enabled.returncode == 0 and "gone: enabled" in enabled.stdout
    server.feed("/gone.rss", rss(("back", "Back again", "Thu, 14 Mar 2019 10:00:00 +0100")))
    assert "source gone: 1 new" in run_digest(tmp_path, "collect").stdout
    unknown = run_digest(tmp_path, "sources", "enable", "nope")
    assert unknown.returncode == 2 and "no source 'nope'" in unknown.stderr


def test_a_moved_feed_is_polled_at_its_new_address(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/new.rss", rss(("a", "Lyon pledges", "Thu, 14 Mar 2019 10:00:00 +0100")))
    server.route("/old.rss", redirect(301, "/new.rss"))
    write_config(tmp_path, f'  - {{id: news, type: feed, url: "{server.url("/old.rss")}"}}')
    first = run_digest(tmp_path, "collect")
    assert f"moved permanently to {server.url('/new.rss')}" in first.stdout
    run_digest(tmp_path, "collect")
    assert len(server.asked("/old.rss")) == 1 and len(server.asked("/new.rss")) == 2
    assert f"moved to {server.url('/new.rss')} (update its url in the config)" in run_digest(
        tmp_path, "status").stdout


def test_a_bad_note_is_reported_and_the_rest_of_the_folder_collected(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "good.md").write_text("---\ntitle: A good note\npublished: 2019-03-15\n---\nBody\n")
    (notes / "bad.md").write_text("---\ntitle: [broken\n---\nBody\n")
    write_config(tmp_path, "  - {id: notes, type: folder, path: notes}")
    result = run_digest(tmp_path, "collect")
    assert result.returncode == 1
    assert "source notes: 1 new, 0 updated, 0 duplicate" in result.stdout
    assert "problem: source 'notes' (notes): bad.md: unreadable front matter" in result.stdout


def test_collect_settings_and_default_themes_are_validated(tmp_path: Path) -> None:
    write_config(tmp_path, "  - {id: notes, type: folder, path: .}")
    config = tmp_path / "schedules.yaml"
    config.write_text(config.read_text()
                      .replace("timezone: Europe/Brussels", "timezone: Europe/Brussels\n"
                               "  default_themes: [nowhere]")
                      .replace("backoff: 0s", "backoff: 0s, max_bytes: lots, per_host: 0")
                      .replace("cooperation: {title: Cooperation}",
                               "cooperation: {title: Cooperation, keywords: [' ']}"))
    result = run_digest(tmp_path, "collect")
    assert result.returncode == 2
    for expected in ("site.default_themes[0]: unknown theme 'nowhere'",
                     "collect.max_bytes: expected a size such as 512KB or 10MB, got 'lots'",
                     "collect.per_host: Input should be greater than or equal to 1",
                     "themes.cooperation.keywords: a keyword cannot be blank"):
        assert expected in result.stderr, result.stderr
