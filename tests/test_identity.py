"""The same article from two sources is one item; items that only share a home page are
not (issue 9, part 3). Real feeds on a local HTTP server, the real `digest run --once`,
then the published Atom feed (read with feedparser) and the emails in the outbox."""

from __future__ import annotations

import email
import sqlite3
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import feedparser
import pytest

from tests.configs import write_feed_project
from tests.conftest import run_digest
from tests.feed_server import FeedServer, feed_server

MONDAY = "2019-03-18T09:00:00+01:00"
ARTICLE = "Lyon pledges to support employment"


def entry(title: str, link: str, guid: str | None = None, day: int = 14) -> str:
    guid_element = f"<guid>{guid}</guid>" if guid else ""
    return (f"<item><title>{title}</title><link>{link}</link>{guid_element}"
            f"<description>About {title}.</description>"
            f"<pubDate>{day} Mar 2019 10:00:00 +0100</pubDate></item>")


def rss(*entries: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>C'
            "</title><link>https://city.example.org/</link><description>d</description>"
            + "".join(entries) + "</channel></rss>").encode()


def write_project(root: Path, server: FeedServer, *paths: str) -> None:
    write_feed_project(root, "\n".join(
        f'  - {{id: {path.strip("/").replace(".", "-")}, type: feed, url: "{server.url(path)}"}}'
        for path in paths))
    (root / "members.csv").write_text("email,name,language,digests,themes\n"
                                      "anna@example.org,Anna,en,weekly,\n")


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


def atom_titles(project: Path) -> list[str]:
    parsed = feedparser.parse(str(project / "feeds" / "all.atom"))
    return sorted(str(e.title) for e in parsed.entries)


def email_text(project: Path) -> str:
    (path,) = (project / "out" / "outbox").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


# The same article as partner sites list it: another guid each time, and the link in
# another form (http, a tracking parameter, a fragment, a trailing slash, upper case host).
SAME_ARTICLE = {
    "/city.rss": entry(ARTICLE, "https://city.example.org/news/lyon",
                       "tag:city.example.org,2019:news-1"),
    "/partner.rss": entry(ARTICLE, "http://City.Example.org/news/lyon/?utm_source=rss#top",
                          "https://partner.example.net/?p=77"),
    "/network.rss": entry(ARTICLE, "https://city.example.org/news/lyon?fbclid=abc",
                          "urn:uuid:5b3c1d2e-0000-4000-8000-000000000001"),
}


def test_the_same_article_from_three_sources_is_one_item(tmp_path: Path,
                                                         server: FeedServer) -> None:
    for path, item in SAME_ARTICLE.items():
        other = entry(f"Only in {path.strip('/')}", f"https://x.example.org{path}/own", day=15)
        server.feed(path, rss(item, other))
    write_project(tmp_path, server, *SAME_ARTICLE)
    result = run_digest(tmp_path, "run", "--once", now=MONDAY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "source city-rss: 2 new" in result.stdout
    assert "source partner-rss: 1 new" in result.stdout
    assert "source network-rss: 1 new" in result.stdout
    assert atom_titles(tmp_path) == sorted([ARTICLE, "Only in city.rss", "Only in partner.rss",
                                            "Only in network.rss"])
    text = email_text(tmp_path)
    assert text.count(f"* {ARTICLE} [") == 1 and "* Only in network.rss [" in text
    assert "https://city.example.org/news/lyon\n" in text.replace("\r", "")  # the first
    again = run_digest(tmp_path, "run", "--once", now=MONDAY)
    assert "0 new" in again.stdout and " 1 new" not in again.stdout


def test_items_that_all_link_to_the_home_page_stay_distinct(tmp_path: Path,
                                                            server: FeedServer) -> None:
    home = "https://club.example.org/"
    server.feed("/no-guids.rss", rss(*(entry(f"Meeting {n}", home, day=10 + n)
                                       for n in range(1, 4))))
    server.feed("/bare-guids.rss", rss(*(entry(f"Notice {n}", home + "#notices", guid=str(n))
                                         for n in range(1, 4))))
    server.feed("/home-guids.rss", rss(*(entry(f"Call {n}", home, guid=home)
                                         for n in range(1, 3))))
    # Two sources whose one entry links to the same site's root: not the same article.
    server.feed("/solo.rss", rss(entry("Solo news", home, guid="tag:solo,2019:1")))
    write_project(tmp_path, server, "/no-guids.rss", "/bare-guids.rss", "/home-guids.rss",
                  "/solo.rss")
    result = run_digest(tmp_path, "run", "--once", now=MONDAY)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = sorted([*(f"Meeting {n}" for n in range(1, 4)),
                       *(f"Notice {n}" for n in range(1, 4)), "Call 1", "Call 2",
                       "Solo news"])
    assert atom_titles(tmp_path) == expected
    text = email_text(tmp_path)
    assert all(text.count(f"* {title} [") == 1 for title in expected)
    again = run_digest(tmp_path, "run", "--once", now=MONDAY)
    assert "0 new" in again.stdout and " 1 new" not in again.stdout


def test_an_item_stored_before_links_were_recorded_is_found_by_its_link(
        tmp_path: Path, server: FeedServer) -> None:
    server.feed("/old.rss", rss(entry(ARTICLE, "http://city.example.org/news/lyon")))
    write_project(tmp_path, server, "/old.rss")
    assert run_digest(tmp_path, "collect", now=MONDAY).returncode == 0
    with sqlite3.connect(tmp_path / "var" / "digest.db") as connection:
        connection.execute("DELETE FROM item_links")  # as an older version left it
    server.feed("/new.rss", rss(SAME_ARTICLE["/city.rss"]))
    write_project(tmp_path, server, "/old.rss", "/new.rss")
    result = run_digest(tmp_path, "collect", now=MONDAY)
    assert "source new-rss: 0 new" in result.stdout, result.stdout
    with sqlite3.connect(tmp_path / "var" / "digest.db") as connection:
        assert connection.execute("SELECT count(*) FROM items").fetchone() == (1,)
        assert connection.execute("SELECT count(*) FROM item_sources").fetchone() == (2,)
