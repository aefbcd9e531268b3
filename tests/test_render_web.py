"""The web version: a plain responsive page listing everything, with no per-member values."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from digest.errors import RenderError
from digest.models import PLACEHOLDERS, Kind
from digest.render.web import render_bulletin_web, render_edition_web
from tests.support import (
    ALL_ITEMS,
    BULLETIN_LINKS,
    EVENTS,
    LINKS,
    SEED_004_SECTION_TITLES,
    make_bulletin,
    make_edition,
    make_settings,
)


class _Balance(HTMLParser):
    """Checks that every opened element (but the void ones) is closed, in order."""

    VOID = frozenset({"meta", "link", "br", "img", "hr", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
        self.stack.pop()


def balanced(html: str) -> bool:
    parser = _Balance()
    parser.feed(html)
    return parser.stack == []


def test_edition_page_lists_everything_with_extra_items() -> None:
    extra = [replace(ALL_ITEMS[0], key="extra-news", title="Warsaw adopts a social housing plan"),
             replace(EVENTS[0], key="extra-event", title="Lille study visit - 27-29 May",
                     kind=Kind.EVENT)]
    html = render_edition_web(make_edition(omitted=2), make_settings(), LINKS, extra_items=extra)
    for item in [*ALL_ITEMS, *extra]:
        assert item.title.replace("'", "&#39;") in html
    # extra items join the section of their kind
    news, events = html.index(">News</h2>"), html.index(">Events</h2>")
    assert news < html.index("Warsaw adopts a social housing plan") < events
    assert events < html.index("Lille study visit")
    assert "more in the web version" not in html
    assert f'href="{LINKS.pdf_url}"' in html and f'href="{LINKS.archive_url}"' in html


def test_edition_page_is_plain_responsive_html5() -> None:
    html = render_edition_web(make_edition(), make_settings(), LINKS)
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<title>Social Affairs weekly #12 – 18 March 2019</title>" in html
    assert "@media" in html and "<mj-" not in html
    assert balanced(html)
    assert "22–24 October 2019, Warsaw" in html
    assert '<span class="tag">Knowledge society</span>' in html
    for marker in PLACEHOLDERS.values():
        assert marker not in html


def test_bulletin_page() -> None:
    settings = make_settings()
    html = render_bulletin_web(make_bulletin(settings, upcoming=(EVENTS[1],)), settings,
                               BULLETIN_LINKS)
    assert balanced(html)
    assert "<p>25–27 March 2019, Glasgow</p>" in html
    for title in SEED_004_SECTION_TITLES:
        assert title.replace("'", "&#39;") in html
    assert re.search(r'<span class="number">1\.</span> Working group meeting', html)
    assert "22–24 October 2019, Warsaw" in html
    assert 'class="funding"' in html and "ec.europa.eu/social/easi" in html
    assert f'href="{BULLETIN_LINKS.pdf_url}"' in html
    for marker in PLACEHOLDERS.values():
        assert marker not in html


def test_hostile_content_is_escaped_on_the_web() -> None:
    hostile = replace(ALL_ITEMS[0], title="<script>alert(1)</script>")
    html = render_edition_web(make_edition([hostile]), make_settings(), LINKS)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_placeholder_in_a_web_template_is_refused(tmp_path: Path) -> None:
    (tmp_path / "templates" / "web").mkdir(parents=True)
    (tmp_path / "templates" / "web" / "edition.html.j2").write_text(
        '<a href="{{ PLACEHOLDERS["unsubscribe_url"] }}">leave</a>\n', encoding="utf-8")
    with pytest.raises(RenderError, match="must not hold"):
        render_edition_web(make_edition(), make_settings(tmp_path), LINKS)
