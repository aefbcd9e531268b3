"""The text/plain part: wrapped at 72, numbered links, never empty, with the member's links."""

from __future__ import annotations

import re

import pytest

from digest.models import PLACEHOLDERS
from digest.render.text import (
    LinkRefs,
    html_to_text,
    render_bulletin_text,
    render_edition_text,
    wrap,
)
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

URL = re.compile(r"(https?://|mailto:|%%)\S+")


def assert_wrapped(text: str) -> None:
    for line in text.splitlines():
        if len(line) > 72:
            # only a line holding one unbreakable URL (or placeholder) may be longer
            assert URL.search(line), line
            assert len(line.split()) <= 2 or len(URL.sub("", line).rstrip()) <= 72, line


def link_list(text: str) -> dict[int, str]:
    tail = text.split("\nLinks:\n", 1)[1]
    return {int(n): url for n, url in re.findall(r"^\[(\d+)\] (\S+)$", tail, re.MULTILINE)}


@pytest.fixture(scope="module")
def digest_text() -> str:
    return render_edition_text(make_edition(omitted=2), make_settings(), LINKS)


@pytest.fixture(scope="module")
def bulletin_text() -> str:
    settings = make_settings()
    return render_bulletin_text(make_bulletin(settings, upcoming=(EVENTS[1],)), settings,
                                BULLETIN_LINKS)


def test_digest_text_is_wrapped_and_complete(digest_text: str) -> None:
    assert_wrapped(digest_text)
    flat = " ".join(digest_text.split())
    for item in ALL_ITEMS:
        assert item.title in flat
    assert flat.startswith("Social Affairs weekly #12 – 18 March 2019")
    for heading in ("NEWS\n====", "EVENTS\n======", "CASE STUDIES", "PUBLICATIONS"):
        assert heading in digest_text
    assert "22–24 October 2019, Warsaw · Cooperation" in digest_text
    assert "4 March 2019 · Cooperation, Knowledge society" in digest_text
    assert f"View in browser: {LINKS.web_url}" in digest_text
    assert "2 more in the web version" in flat


def test_links_are_numbered_references(digest_text: str) -> None:
    links = link_list(digest_text)
    assert sorted(links) == list(range(1, len(links) + 1))
    assert links[1] == ALL_ITEMS[0].link
    assert "Turin citizens panel makes three recommendations on technology [1]" in digest_text
    # a link inside a summary gets its own number, after its item's
    report = next(n for n, url in links.items() if url == "https://www.eurocities.eu/report.pdf")
    assert f"20 cities [{report}]" in digest_text
    body = digest_text.split("\nLinks:\n", 1)[0]
    assert "https://www.eurocities.eu/latest" not in body  # URLs only in the list


def test_placeholders_are_in_the_text(digest_text: str) -> None:
    assert f"Unsubscribe: {PLACEHOLDERS['unsubscribe_url']}" in digest_text
    assert f"Preferences: {PLACEHOLDERS['preferences_url']}" in digest_text
    assert f"Archive: {LINKS.archive_url}" in digest_text
    assert "\n-- \n" in digest_text  # the signature delimiter, trailing space kept
    assert digest_text.endswith("\n") and not digest_text.endswith("\n\n")


def test_bulletin_text_reads_like_the_seed(bulletin_text: str) -> None:
    assert_wrapped(bulletin_text)
    flat = " ".join(bulletin_text.split())
    assert bulletin_text.startswith("EUROCITIES Social Affairs Forum\n25–27 March 2019, Glasgow\n")
    assert "UPDATES FROM WG SMART SOCIAL INCLUSION" in bulletin_text
    for number, title in enumerate(SEED_004_SECTION_TITLES[:4], start=1):
        assert f"{number}. {title}" in flat
    for title in SEED_004_SECTION_TITLES[4:]:
        assert f"\n{title}\n---" in bulletin_text
    assert "\n- Inclusive education\n- Gender equality\n" in bulletin_text
    assert "\n7. Fomenting social enterprise - supportive frameworks," in bulletin_text
    assert "\n   capacity building" in bulletin_text  # hanging indent of a numbered entry
    assert "- Autumn WG meeting in Warsaw\n  This meeting will focus" in bulletin_text
    assert "- Social Affairs Forum meeting - 22-24 October, Warsaw [1]" in bulletin_text
    assert "financial support from the European Union" in flat
    assert "please consult: http://ec.europa.eu/social/easi" in flat
    assert link_list(bulletin_text) == {1: EVENTS[1].link}
    assert "Read the highlights here and the full report here." in flat  # '#' links dropped
    for key in ("unsubscribe_url", "preferences_url"):
        assert PLACEHOLDERS[key] in bulletin_text


def test_wrap_never_breaks_urls_or_words() -> None:
    long_url = "https://forum.example.org/" + "a" * 90
    text = wrap(f"Read this {long_url} now, it is a very long line that goes on and on and on.")
    assert long_url in text.splitlines()
    assert all(len(line) <= 72 for line in text.splitlines() if long_url not in line)
    assert wrap("- " + "word " * 30).splitlines()[1].startswith("  word")
    assert wrap("12. " + "word " * 30).splitlines()[1].startswith("    word")
    assert wrap("well-being " * 12).count("well-\n") == 0


def test_html_to_text_handles_common_markup() -> None:
    refs = LinkRefs()
    text = html_to_text(
        '<p>One <a href="https://a.example/">link</a> and <a href="https://a.example/">again'
        '</a>, <a href="#">nowhere</a>, <a href="mailto:x@example.org">x@example.org</a>.</p>'
        "<ul><li>first</li><li>second<ul><li>nested</li></ul></li></ul>"
        '<blockquote><p>Quoted</p></blockquote><p>Line<br>break <img src="x.png" alt="A map">'
        "</p><table><tr><td>a</td><td>b</td></tr></table>", refs)
    assert text.splitlines() == [
        "One link [1] and again [1], nowhere, x@example.org.",
        "",
        "- first",
        "- second",
        "  - nested",
        "",
        "> Quoted",
        "",
        "Line",
        "break [A map]",
        "",
        "a | b",
    ]
    assert refs.urls == ["https://a.example/"]


def test_the_text_part_is_never_empty() -> None:
    text = render_edition_text(make_edition([]), make_settings(), LINKS)
    assert text.strip() and PLACEHOLDERS["unsubscribe_url"] in text
