"""The problem list: each placeholder link at its own line, alt text, size, empty sections."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from digest.bulletins import load_bulletin
from digest.models import PLACEHOLDERS, RenderedEmail
from digest.render.email import render_bulletin_email, render_edition_email
from digest.render.lint import Problem, link_problem, lint_bulletin, lint_email
from tests.support import (
    BULLETIN_FILE,
    BULLETIN_LINKS,
    LINKS,
    SAMPLE_BULLETIN,
    make_bulletin,
    make_edition,
    make_settings,
)

FRONT = """---
title: Updates from WG Smart Social Inclusion
forum: EUROCITIES Social Affairs Forum
group: WG Smart Social Inclusion
date: 2019-03-25
footer: "Funded by EaSI, see [the programme](#)"
---
"""


def placeholder_lines(path: Path) -> list[int]:
    """Where the file itself has ``](#)``, once per occurrence."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [n for n, line in enumerate(lines, start=1) for _ in range(line.count("](#)"))]


def test_each_placeholder_link_of_the_seed_is_reported_at_its_line() -> None:
    problems = lint_bulletin(make_bulletin())
    expected = placeholder_lines(BULLETIN_FILE)
    assert len(expected) == 7
    assert [p.location for p in problems] == [f"{BULLETIN_FILE}:{n}" for n in expected]
    # Errors: they hold the bulletin until fixed or overridden (docs/console.md).
    assert all(p.severity == "error" for p in problems)
    assert problems[0].message == (
        "link [European Social Economy Regions Pilot] points to '#', a placeholder")
    assert {p.message for p in problems[1:]} == {"link [here] points to '#', a placeholder"}
    assert str(problems[0]).startswith(f"{BULLETIN_FILE}:15: error: link [European")


@pytest.mark.skipif(not SAMPLE_BULLETIN.exists(), reason="the sample bulletin is not written yet")
def test_the_shipped_sample_is_linted_the_same_way() -> None:
    problems = lint_bulletin(load_bulletin(SAMPLE_BULLETIN, make_settings()))
    assert [p.location for p in problems] == [
        f"{SAMPLE_BULLETIN}:{n}" for n in placeholder_lines(SAMPLE_BULLETIN)]


def test_other_broken_links_images_and_empty_sections(tmp_path: Path) -> None:
    path = tmp_path / "b.md"
    path.write_text(FRONT + "\n".join([
        "Intro with [an empty link]() and [a relative one](/members/list).",   # 8
        "",
        "## 1. Links over several lines",                                      # 10
        "",
        "A paragraph that goes on",                                           # 12
        "and on, with [an ftp link](ftp://files.example.org/report.pdf)",     # 13
        "and [a fine one](https://www.eurocities.eu/) and",                   # 14
        "[a mail](mailto:forum@example.org) and ![](images/map.png).",         # 15
        "",
        "## Empty part",                                                       # 17
        "",
        "## Last part",                                                        # 19
        "",
        "![A map](https://www.eurocities.eu/map.png) [anchor](#section-2)",   # 21
        "",
        "## Nothing after this",                                               # 23
        "",
    ]), encoding="utf-8")
    problems = lint_bulletin(load_bulletin(path, make_settings()))
    found = [(p.location.rsplit(":", 1)[1], p.message) for p in problems]
    assert found == [
        ("8", "link [an empty link] has no target"),
        ("8", "link [a relative one] points to '/members/list', a relative link that leads "
              "nowhere outside the site"),
        ("13", "link [an ftp link] points to 'ftp://files.example.org/report.pdf': only http, "
               "https and mailto links work in an email"),
        ("15", "image 'images/map.png' has no alt text"),
        ("15", "image ![] points to 'images/map.png', a relative link that leads nowhere "
               "outside the site"),
        ("21", "link [anchor] points to '#section-2', an anchor that does not exist in an "
               "email"),
        ("6", "footer link [the programme] points to '#', a placeholder"),
        ("17", "section 'Empty part' is empty"),
        ("23", "section 'Nothing after this' is empty"),
    ]


def test_link_problem() -> None:
    assert link_problem("https://www.eurocities.eu/") is None
    assert link_problem("mailto:forum@example.org") is None
    for marker in PLACEHOLDERS.values():
        assert link_problem(marker) is None
    assert link_problem(" ") == "has no target"
    assert link_problem("https:///nohost") == "points to 'https:///nohost', which has no host"
    assert "only http" in (link_problem("javascript:alert(1)") or "")
    for unreadable in ("http://[::1/x", "https://host:port/"):  # urlsplit raises for these
        assert link_problem(unreadable) == (f"points to {unreadable!r}, which cannot be read "
                                            "as an address")


@pytest.mark.parametrize("target", ["https://[::1/x", "//[x/a", "http://[evil.example.net]/"])
def test_a_link_python_cannot_read_is_reported_not_raised(target: str) -> None:
    """``urlsplit`` raises on a malformed host: an item stored with such a link (before
    collection dropped them) made checking its edition's email raise."""
    assert link_problem(target) == f"points to {target!r}, which cannot be read as an address"
    html = f'<p><a href="{target}">odd</a></p><table><tr>{FOOT}</tr></table>'
    messages = [p.message for p in lint_email(email(html), "weekly")]
    assert f"link 'odd' points to {target!r}, which cannot be read as an address" in messages


def test_the_rendered_bulletin_email_shows_the_same_placeholders() -> None:
    settings = make_settings()
    rendered = render_bulletin_email(make_bulletin(settings), settings, BULLETIN_LINKS)
    problems = lint_email(rendered, "bulletin")
    assert len(problems) == 7
    assert all(p.severity == "error" and "'#', a placeholder" in p.message for p in problems)
    assert all(p.location.startswith("bulletin:") for p in problems)


def test_the_sample_digest_email_is_clean() -> None:
    rendered = render_edition_email(make_edition(), make_settings(), LINKS)
    assert lint_email(rendered, "weekly #12") == []


def email(html: str, text: str = "Hello\n%%UNSUBSCRIBE_URL%%\n") -> RenderedEmail:
    return RenderedEmail(subject="S", preheader="P", mjml="", html=html, text=text,
                         language="en")


FOOT = '<td class="footer"><a href="%%UNSUBSCRIBE_URL%%">Unsubscribe</a></td>'


def test_size_limits() -> None:
    assert lint_email(email("<p>x</p>" + FOOT), "e") == []
    big = "<p>" + "x" * 95_000 + "</p>" + FOOT
    assert lint_email(email(big), "e") == [Problem(
        "warning", "e", "the HTML is 95 KB, close to Gmail's 102 KB clipping limit")]
    huge = "<p>" + "x" * 110_000 + "</p>" + FOOT
    (problem,) = lint_email(email(huge), "e")
    assert problem.severity == "error" and "Gmail clips messages over 102 KB" in problem.message


def test_images_links_sections_and_missing_parts() -> None:
    html = ('<h2>News</h2><p>Item <img src="https://x.example/a.png"> '
            '<img src="https://x.example/b.png" alt=""> <a href="">empty</a> '
            '<a href="news/1">relative</a></p>\n<h2>Events</h2>\n<h2>Publications</h2>'
            '<table><tr>' + FOOT + "</tr></table>")
    problems = lint_email(email(html, text="   "), "weekly")
    messages = [p.message for p in problems]
    assert messages == [
        "the text part is empty",
        "the text part has no unsubscribe link (%%UNSUBSCRIBE_URL%%)",
        "link 'empty' has no target",
        "link 'relative' points to 'news/1', a relative link that leads nowhere outside the "
        "site",
        "image 'https://x.example/a.png' has no alt text",
        "image 'https://x.example/b.png' has no alt text",
        "section 'Events' is empty",
        "section 'Publications' is empty",
    ]
    assert [p.severity for p in problems][:2] == ["error", "error"]
    assert [p.location for p in problems[-2:]] == ["weekly:2", "weekly:3"]


def test_a_template_that_drops_the_unsubscribe_link_is_an_error() -> None:
    rendered = render_edition_email(make_edition(), make_settings(), LINKS)
    broken = replace(rendered, html=rendered.html.replace(PLACEHOLDERS["unsubscribe_url"], ""))
    problems = lint_email(broken, "weekly")
    assert any(p.severity == "error" and "HTML part has no unsubscribe link" in p.message
               for p in problems)


def test_an_undefined_template_variable_is_reported_at_its_line(tmp_path: Path) -> None:
    from digest.errors import RenderError

    folder = tmp_path / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "digest.mjml.j2").write_text(
        '{% extends "email/_layout.mjml.j2" %}\n{% block content %}\n'
        "<mj-section><mj-column><mj-text>{{ edition.titel }}</mj-text></mj-column>"
        "</mj-section>\n{% endblock %}\n", encoding="utf-8")
    with pytest.raises(RenderError) as caught:
        render_edition_email(make_edition(), make_settings(tmp_path), LINKS)
    assert str(caught.value).startswith(f"{folder / 'digest.mjml.j2'}:3: undefined")
    assert "titel" in str(caught.value)


@pytest.mark.parametrize(("body", "lines"), [
    # A heading line with no title, followed by text (a number alone is no title either).
    (["## ", "", "Text under no heading."], [8]),
    (["##", "", "Text."], [8]),
    (["## 2.", "", "Text."], [8]),
    (["## A part", "", "Text.", "", "## ", "Text."], [12]),
    # Text after a section break with no heading, in the introduction or in a section.
    (["Intro.", "", "---", "", "A part with no name."], [10]),
    (["## A part", "", "Text.", "", "* * *", "", "More, nameless."], [12]),
    (["## A part", "", "Text.", "", "---", "---", "", "More."], [13]),
])
def test_sections_without_a_heading_are_errors_at_their_line(
        tmp_path: Path, body: list[str], lines: list[int]) -> None:
    path = tmp_path / "b.md"
    path.write_text(FRONT + "\n".join(body) + "\n", encoding="utf-8")
    problems = [p for p in lint_bulletin(load_bulletin(path, make_settings()))
                if "heading" in p.message]
    assert [(p.severity, int(p.location.rsplit(":", 1)[1])) for p in problems] == [
        ("error", line) for line in lines]


@pytest.mark.parametrize("body", [
    ["## A part", "", "Text.", "", "---", "", "## Another part", "", "Text."],
    ["Intro.", "", "## 1. A numbered part", "", "Text."],
    ["Intro.", "", "A setext part", "---", "", "Text."],  # a heading, not a break
])
def test_a_break_before_a_heading_and_numbered_headings_are_fine(
        tmp_path: Path, body: list[str]) -> None:
    path = tmp_path / "b.md"
    path.write_text(FRONT + "\n".join(body) + "\n", encoding="utf-8")
    problems = lint_bulletin(load_bulletin(path, make_settings()))
    assert [p for p in problems if "footer" not in p.message] == []
