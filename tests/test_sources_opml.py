"""`digest sources import-opml`: feeds added to schedules.yaml as a marked block, the rest
of the file untouched, duplicates refused, the result valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import load_settings
from digest.errors import InputError
from digest.sources.opml import NewSource, insert_sources, read_opml
from tests.conftest import run_digest

OPML = """<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><head><title>Our feeds</title></head><body>
  <outline text="Cooperation" title="Cooperation">
    <outline type="rss" text="City news" xmlUrl="https://city.example.org/feed.xml"
             htmlUrl="https://city.example.org/"/>
    <outline type="rss" text="A file" xmlUrl="file:///etc/passwd"/>
  </outline>
  <outline type="rss" text="Économie &amp; emploi" xmlUrl="https://eco.example.org/rss"
           category="/economy,/unknown"/>
  <outline type="rss" text="City news again"
           xmlUrl="https://CITY.example.org/feed.xml?utm_source=opml"/>
  <outline type="rss" title="Second: &quot;quoted&quot; feed" xmlUrl="https://two.example.org/a b"/>
</body></opml>
"""


def test_import_adds_a_marked_block_and_keeps_the_rest_of_the_file(project: Path) -> None:
    config = project / "schedules.yaml"
    before = config.read_text()
    (project / "feeds.opml").write_text(OPML)
    result = run_digest(project, "sources", "import-opml", "feeds.opml")
    assert result.returncode == 0, result.stderr
    assert "added city-example-org-feed-xml" not in result.stdout
    assert "added city-news: https://city.example.org/feed.xml [cooperation]" in result.stdout
    assert "added economie-emploi: https://eco.example.org/rss [economy]" in result.stdout
    assert "already configured: https://CITY.example.org/feed.xml?utm_source=opml" in (
        result.stdout)
    assert "skipped: A file: not an http(s) feed URL" in result.stdout
    assert "3 feed sources added to" in result.stdout
    after = config.read_text()
    block = after.replace(before.split("\ndigests:")[0], "").split("\ndigests:")[0]
    assert block == """  # Imported from feeds.opml by `digest sources import-opml` on 2019-03-18:
  # City news
  - {id: city-news, type: feed, url: "https://city.example.org/feed.xml", themes: [cooperation]}
  # Économie & emploi
  - {id: economie-emploi, type: feed, url: "https://eco.example.org/rss", themes: [economy]}
  # Second: "quoted" feed
  - {id: second-quoted-feed, type: feed, url: "https://two.example.org/a b"}
"""
    assert after.startswith(before.split("\ndigests:")[0])  # comments and entries kept
    assert after.endswith("\ndigests:" + before.split("\ndigests:")[1])
    settings = load_settings(config)
    assert [s.id for s in settings.sources][-3:] == ["city-news", "economie-emploi",
                                                     "second-quoted-feed"]
    again = run_digest(project, "sources", "import-opml", "feeds.opml")
    assert again.returncode == 0 and "feeds.opml: no new feed to add" in again.stdout
    assert config.read_text() == after


def test_a_config_without_sources_gets_a_sources_section(tmp_path: Path) -> None:
    config = "site:\n  title: T\n"
    added = (NewSource(id="a", url="https://a.example.org/feed", title="A"),)
    assert insert_sources(config, added, "Imported") == (
        "site:\n  title: T\n\nsources:\n  # Imported\n  # A\n"
        '  - {id: a, type: feed, url: "https://a.example.org/feed"}\n')


def test_block_entries_are_followed_to_their_last_line() -> None:
    config = ("sources:\n- id: a\n  type: feed\n  url: https://a.example.org/\n\n"
              "# digests next\ndigests: []\n")
    added = (NewSource(id="b", url="https://b.example.org/", title="B"),)
    assert insert_sources(config, added, "Imported") == (
        "sources:\n- id: a\n  type: feed\n  url: https://a.example.org/\n# Imported\n# B\n"
        '- {id: b, type: feed, url: "https://b.example.org/"}\n\n# digests next\n'
        "digests: []\n")


@pytest.mark.parametrize("sources", ["sources: []\n", "sources: [{id: a, type: feed}]\n"])
def test_a_flow_list_of_sources_is_refused(sources: str) -> None:
    with pytest.raises(InputError, match="not a block list"):
        insert_sources(sources, (NewSource(id="b", url="https://b.example.org/", title="B"),),
                       "Imported")


@pytest.mark.parametrize("data", [b"", b"<html><body/></html>", b"not xml at all",
                                  b'<!DOCTYPE opml [<!ENTITY a "]>"><!ENTITY b "&a;">]><opml/>'])
def test_unreadable_opml_is_refused(data: bytes) -> None:
    with pytest.raises(InputError, match="OPML"):
        read_opml(data)


def test_unreadable_opml_exits_2(project: Path) -> None:
    (project / "feeds.opml").write_text("<html/>")
    result = run_digest(project, "sources", "import-opml", "feeds.opml")
    assert result.returncode == 2 and "not an OPML file" in result.stderr
    missing = run_digest(project, "sources", "import-opml", "nope.opml")
    assert missing.returncode == 2 and "nope.opml: cannot read" in missing.stderr
