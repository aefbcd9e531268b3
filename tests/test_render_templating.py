"""The Jinja2 environment: overrides by name, strict names, dates as readers write them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.dates import format_date_range, format_event_dates, format_long_date, join_range
from digest.errors import RenderError
from digest.models import PLACEHOLDERS, EventInfo
from digest.render.email import render_edition_email
from digest.render.templating import (
    default_templates_dir,
    make_environment,
    render_template,
    template_dirs,
)
from digest.render.text import render_edition_text
from tests.support import LINKS, make_edition, make_settings

BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize(("start", "end", "language", "expected"), [
    (date(2019, 3, 27), date(2019, 3, 27), "en", "27 March 2019"),
    (date(2019, 3, 27), None, "en", "27 March 2019"),
    (date(2019, 3, 25), date(2019, 3, 27), "en", "25–27 March 2019"),
    (date(2019, 3, 30), date(2019, 4, 2), "en", "30 March – 2 April 2019"),
    (date(2019, 12, 30), date(2020, 1, 2), "en", "30 December 2019 – 2 January 2020"),
    (date(2019, 3, 25), date(2019, 3, 27), "fr", "25–27 mars 2019"),
    (date(2019, 3, 25), date(2019, 3, 27), "de", "25.–27. März 2019"),
])
def test_all_day_ranges(start: date, end: date | None, language: str, expected: str) -> None:
    assert format_date_range(start, end, language) == expected


def test_timed_events_are_shown_in_the_site_zone() -> None:
    one_hour = EventInfo(datetime(2019, 1, 17, 14, tzinfo=UTC),
                         datetime(2019, 1, 17, 15, tzinfo=UTC))
    assert format_event_dates(one_hour, "en", BRUSSELS) == "17 January 2019, 15:00–16:00"
    two_days = EventInfo(datetime(2019, 1, 17, 14, tzinfo=UTC),
                         datetime(2019, 1, 18, 15, tzinfo=UTC))
    assert (format_event_dates(two_days, "en", BRUSSELS)
            == "17 January 2019, 15:00 – 18 January 2019, 16:00")
    open_ended = EventInfo(datetime(2019, 1, 17, 14, tzinfo=UTC))
    assert format_event_dates(open_ended, "en", BRUSSELS) == "17 January 2019, 15:00"
    all_day = EventInfo(date(2019, 10, 22), date(2019, 10, 24), "Warsaw")
    assert format_event_dates(all_day, "en", BRUSSELS) == "22–24 October 2019"


def test_publication_dates() -> None:
    assert format_long_date(datetime(2019, 3, 4, 9, tzinfo=UTC), "en", BRUSSELS) == "4 March 2019"
    # 23:30 UTC on 3 March is already 4 March in Brussels
    assert format_long_date(datetime(2019, 3, 3, 23, 30, tzinfo=UTC), "en", BRUSSELS) == (
        "4 March 2019")
    assert format_long_date(date(2019, 3, 4), "fr") == "4 mars 2019"


def test_filters_in_templates() -> None:
    env = make_environment(make_settings())
    template = env.from_string(
        "{{ event|event_dates }} | {{ day|long_date }} | {{ slugs|theme_titles|join(', ') }}")
    out = template.render(event=EventInfo(date(2019, 3, 25), date(2019, 3, 27)),
                          day=date(2019, 3, 4), slugs=["knowledge-society", "unknown"],
                          language="en", zone=BRUSSELS,
                          theme_titles_map={"knowledge-society": "Knowledge society"})
    assert out == "25–27 March 2019 | 4 March 2019 | Knowledge society, unknown"


def test_default_templates_are_found() -> None:
    folder = default_templates_dir()
    for name in ("email/digest.mjml.j2", "email/bulletin.mjml.j2", "text/digest.txt.j2",
                 "web/edition.html.j2", "pdf/bulletin.html.j2", "email/inline.css"):
        assert (folder / name).is_file(), name


def test_a_project_template_overrides_the_default_by_name(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert template_dirs(settings)[-1] == default_templates_dir().resolve()
    (tmp_path / "templates" / "email").mkdir(parents=True)
    (tmp_path / "templates" / "email" / "_footer.mjml.j2").write_text(
        '<mj-section><mj-column><mj-text>Sent by the Glasgow team. '
        '<a href="{{ PLACEHOLDERS["unsubscribe_url"] }}">Leave</a></mj-text>'
        "</mj-column></mj-section>\n", encoding="utf-8")
    assert template_dirs(settings)[0] == (tmp_path / "templates").resolve()
    rendered = render_edition_email(make_edition(), settings, LINKS)
    assert "Sent by the Glasgow team." in rendered.html
    assert "Sent by the Glasgow team." not in render_edition_email(
        make_edition(), make_settings(), LINKS).html
    # the templates it did not override are still the defaults
    assert "Social Affairs weekly" in rendered.html
    assert PLACEHOLDERS["unsubscribe_url"] in rendered.html


def test_a_typo_in_a_template_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "templates" / "text").mkdir(parents=True)
    (tmp_path / "templates" / "text" / "digest.txt.j2").write_text(
        "{{ edition.titel }}\n", encoding="utf-8")
    with pytest.raises(RenderError, match="titel"):
        render_edition_text(make_edition(), make_settings(tmp_path), LINKS)


def test_a_template_syntax_error_is_located(tmp_path: Path) -> None:
    (tmp_path / "templates" / "email").mkdir(parents=True)
    (tmp_path / "templates" / "email" / "digest.mjml.j2").write_text(
        "<mjml>\n{% if %}\n</mjml>\n", encoding="utf-8")
    with pytest.raises(RenderError, match=r"digest\.mjml\.j2:2: template syntax error"):
        render_edition_email(make_edition(), make_settings(tmp_path), LINKS)


def test_an_unknown_template_is_a_render_error() -> None:
    with pytest.raises(RenderError, match=r"template not found: email/nope\.mjml\.j2"):
        render_template(make_settings(), "email/nope.mjml.j2", {})


def test_html_templates_are_autoescaped_and_text_templates_are_not() -> None:
    autoescape = make_environment(make_settings()).autoescape
    assert callable(autoescape)
    assert autoescape("email/digest.mjml.j2") and autoescape("web/edition.html.j2")
    assert not autoescape("text/digest.txt.j2")


@pytest.mark.parametrize(("start", "end", "expected"), [
    # CLDR 47 (Babel 2.19) spaces the dash with thin spaces; earlier releases did not.
    ("25\u2009–\u2009", "27 March 2019", "25–27 March 2019"),
    ("25–", "27 March 2019", "25–27 March 2019"),
    ("25 – ", " 27 March 2019", "25–27 March 2019"),
    ("25.–", "27. März 2019", "25.–27. März 2019"),
    ("30 March\u2009–\u2009", "2 April 2019", "30 March – 2 April 2019"),
    ("30 March–", "2 April 2019", "30 March – 2 April 2019"),
    ("15:00\u202f–\u202f", "16:00", "15:00–16:00"),
])
def test_ranges_are_joined_by_the_products_rule_not_by_cldr(start: str, end: str,
                                                             expected: str) -> None:
    assert join_range(start, end) == expected
