"""A bulletin's upcoming events join its "Upcoming meetings" section through the
``section_body`` macro: after the items of the bullet list the section ends with, else in a
list of their own, escaped, and never twice when the coordinator already wrote about the
event."""

from __future__ import annotations

import dataclasses

from digest.bulletins import parse_body
from digest.render.templating import make_environment
from digest.render.views import bulletin_sections
from tests.support import EVENTS, make_bulletin, make_settings

SETTINGS = make_settings()
MACRO = make_environment(SETTINGS).get_template(
    "shared/_bulletin_section.html.j2").module.section_body  # type: ignore[attr-defined]
EVENT = ("<li><p><strong>Forum &lt;meeting&gt; &amp; more</strong><br>"
         "22–24 October 2019, Warsaw</p></li>\n")


def shown(body: str, title: str = "Upcoming meetings and activities",
          event_title: str = "Forum <meeting> & more") -> list[str]:
    """The sections of a bulletin whose Markdown is one ``## 1. title`` section of ``body``,
    as the macro shows them with one upcoming event."""
    event = dataclasses.replace(EVENTS[1], title=event_title, link=None)
    _, sections = parse_body(f"## 1. {title}\n\n{body}\n")
    bulletin = dataclasses.replace(make_bulletin(SETTINGS, upcoming=(event,)),
                                   sections=sections)
    return [str(MACRO(view)) for view in bulletin_sections(bulletin, SETTINGS)]


def test_events_continue_the_list_the_section_ends_with() -> None:
    assert shown("Soon:\n\n- Lille\n- *Turin*") == [
        f"<p>Soon:</p>\n<ul>\n<li>Lille</li>\n<li><em>Turin</em></li>\n{EVENT}</ul>"]


def test_a_section_that_is_only_a_list_is_continued_and_nested_lists_stay_whole() -> None:
    assert shown("- Lille\n  - Hall A") == [
        f"<ul>\n<li>Lille\n<ul>\n<li>Hall A</li>\n</ul>\n</li>\n{EVENT}</ul>"]


def test_events_after_a_paragraph_or_a_numbered_list_get_their_own_list() -> None:
    assert shown("Soon.") == [f"<p>Soon.</p>\n<ul>\n{EVENT}</ul>"]
    assert shown("1. Lille") == [f"<ol>\n<li>Lille</li>\n</ol>\n<ul>\n{EVENT}</ul>"]
    assert shown("- Lille\n\nSee you.") == [
        f"<ul>\n<li>Lille</li>\n</ul>\n<p>See you.</p>\n<ul>\n{EVENT}</ul>"]


def test_without_such_a_section_one_is_added_and_a_written_event_is_not_repeated() -> None:
    assert shown("x", title="Report")[1] == f"<ul>\n{EVENT}</ul>"
    written = "<p>The <strong>Forum meeting</strong> in Warsaw</p>"
    assert shown("The **Forum meeting** in Warsaw", event_title="Forum meeting") == [written]


def test_a_section_without_events_is_its_body_as_written() -> None:
    _, sections = parse_body("## Report\n\nSoon:\n\n- Lille\n")
    view = bulletin_sections(make_bulletin(SETTINGS), SETTINGS)
    assert sections[0].body_html == "<p>Soon:</p>\n<ul>\n<li>Lille</li>\n</ul>"
    assert sections[0].lead_html == "<p>Soon:</p>"
    assert sections[0].list_items_html == "<li>Lille</li>"
    assert [str(MACRO(v)) for v in view] == [s.body_html for s in make_bulletin(SETTINGS).sections]
