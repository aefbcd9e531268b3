"""The size budget: no digest email crosses Gmail's clipping; the web version shows all.

Gmail hides whatever follows the first ~102 KB of a message's HTML behind "[Message
clipped]", unsubscribe link included. The email keeps as many items as fit, measured on
the rendered bytes, and links to the web version for the rest.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from digest.compose import compose_edition
from digest.config import DigestSettings
from digest.models import Item
from digest.render.email import (
    EMAIL_BUDGET_BYTES,
    _first_items,
    html_size,
    render_edition_email,
)
from digest.render.lint import GMAIL_CLIP_BYTES, lint_email
from digest.render.web import render_edition_web
from tests.test_render_support import ALL_ITEMS, LINKS, NEWS, make_edition, make_settings

LONG = "<p>" + " ".join(["Cities pledge to act on the principles of the European Pillar of "
                         "Social Rights through dedicated investments."] * 30) + "</p>"


def many(count: int, summary: str = LONG) -> list[Item]:
    return [replace(NEWS[i % len(NEWS)], key=f"k{i}", title=f"Item number {i}",
                    link=f"https://www.eurocities.eu/latest/item-{i}", summary_html=summary,
                    published=NEWS[0].published - timedelta(minutes=i)) for i in range(count)]


def test_an_edition_too_big_for_gmail_shows_as_many_items_as_fit() -> None:
    items = many(60)
    settings = make_settings()
    edition = make_edition(items)
    whole = render_edition_email(edition, settings, LINKS, budget=None)
    assert html_size(whole) > GMAIL_CLIP_BYTES  # the premise: all of it would be clipped
    rendered = render_edition_email(edition, settings, LINKS)
    assert html_size(rendered) <= EMAIL_BUDGET_BYTES < GMAIL_CLIP_BYTES
    shown = len(re.findall(r">Item number \d+</a>", rendered.html))
    assert 0 < shown < 60
    assert [f"Item number {i}" for i in range(shown)] == re.findall(
        r">(Item number \d+)</a>", rendered.html)  # the first ones, in reading order
    assert f"{60 - shown} more in the web version" in rendered.html
    assert f"{60 - shown} more in the web version" in rendered.text
    assert len(re.findall(r"^\* Item number", rendered.text, re.MULTILINE)) == shown
    # as many as fit: one more item would not
    one_more = render_edition_email(_first_items(edition, shown + 1), settings, LINKS,
                                    budget=None)
    assert html_size(one_more) > EMAIL_BUDGET_BYTES
    assert not [p for p in lint_email(rendered, "weekly") if p.severity == "error"]
    web = render_edition_web(edition, settings, LINKS)
    assert all(f"Item number {i}<" in web for i in range(60))


def test_fifty_ordinary_items_all_fit() -> None:
    items = many(50, "<p>Turin's citizens' consultation discussed the role of technology in "
                     "the socio-economic and cultural development of Europe.</p>")
    rendered = render_edition_email(make_edition(items), make_settings(), LINKS)
    assert "more in the web version" not in rendered.html
    assert html_size(rendered) < 80_000


def test_items_over_max_items_are_kept_for_the_web_version() -> None:
    digest = DigestSettings.model_validate({
        "id": "weekly", "title": "Social Affairs weekly", "themes": "all",
        "kinds": ["news", "event", "case_study", "publication"], "cron": "0 8 * * mon",
        "max_items": 5})
    now = datetime(2019, 3, 18, 7, tzinfo=UTC)
    fresh = [replace(i, first_seen=now - timedelta(days=1)) for i in ALL_ITEMS]
    edition = compose_edition(digest, fresh, cursor=None, slot=now, now=now, number=1,
                              zone=ZoneInfo("Europe/Brussels"))
    assert len(edition.items) == 5
    assert edition.omitted == len(edition.overflow) > 0
    email = render_edition_email(edition, make_settings(), LINKS)
    assert f"{edition.omitted} more in the web version" in email.html
    web = render_edition_web(edition, make_settings(), LINKS)
    for item in [*edition.items, *edition.overflow]:
        assert item.title.replace("'", "&#39;") in web
