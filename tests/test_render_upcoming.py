"""A bulletin's upcoming events join its "Upcoming meetings" section through the
``section_body`` macro: inside the list the section ends with, else in a list of their own,
escaped, and never twice when the coordinator already wrote about the event."""

from __future__ import annotations

import dataclasses

from digest.models import BulletinSection
from digest.render.templating import make_environment
from digest.render.views import bulletin_sections
from tests.support import EVENTS, make_bulletin, make_settings

SETTINGS = make_settings()
MACRO = make_environment(SETTINGS).get_template(
    "shared/_bulletin_section.html.j2").module.section_body  # type: ignore[attr-defined]


def shown(body: str, title: str = "Upcoming meetings and activities",
          event_title: str = "Forum <meeting> & more") -> list[str]:
    event = dataclasses.replace(EVENTS[1], title=event_title, link=None)
    bulletin = dataclasses.replace(
        make_bulletin(SETTINGS, upcoming=(event,)),
        sections=(BulletinSection(title=title, body_html=body, number=1),))
    return [str(MACRO(view)) for view in bulletin_sections(bulletin, SETTINGS)]


def test_events_continue_the_list_the_section_ends_with() -> None:
    assert shown("<p>Soon:</p>\n<ul><li>Lille</li></ul>\n") == [
        "<p>Soon:</p>\n<ul><li>Lille</li>\n<li><p><strong>Forum &lt;meeting&gt; &amp; more"
        "</strong><br>22–24 October 2019, Warsaw</p></li>\n</ul>"]


def test_events_after_a_paragraph_get_their_own_list() -> None:
    assert shown("<p>Soon.</p>") == [
        "<p>Soon.</p>\n<ul>\n<li><p><strong>Forum &lt;meeting&gt; &amp; more</strong><br>"
        "22–24 October 2019, Warsaw</p></li>\n</ul>"]


def test_without_such_a_section_one_is_added_and_a_written_event_is_not_repeated() -> None:
    assert shown("<p>x</p>", title="Report")[1].startswith("<ul>\n<li><p><strong>Forum")
    written = "<p>The <b>Forum meeting</b> in Warsaw</p>"
    assert shown(written, event_title="Forum meeting") == [written]
