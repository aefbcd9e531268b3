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
from digest.models import Edition, Item
from digest.render.email import (
    EMAIL_BUDGET_BYTES,
    _first_items,
    html_size,
    render_edition_email,
)
from digest.render.lint import GMAIL_CLIP_BYTES, lint_email
from digest.render.pdf import render_edition_pdf_html
from digest.render.web import render_edition_web
from tests.support import ALL_ITEMS, LINKS, NEWS, make_edition, make_settings

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


def _composed(count: int, max_items: int = 20, max_web_items: int = 60) -> tuple[Edition, int]:
    digest = DigestSettings(id="weekly", title="Weekly", cron="0 8 * * mon",
                            max_items=max_items, max_web_items=max_web_items)
    now = NEWS[0].published + timedelta(days=1)
    fresh = [replace(item, first_seen=now) for item in many(count, summary="<p>Short.</p>")]
    edition = compose_edition(digest, iter(fresh), cursor=None, slot=now, now=now, number=3,
                              zone=ZoneInfo("Europe/Brussels"))
    return edition, count


def test_every_form_of_a_huge_edition_stays_bounded_and_says_what_it_left_out() -> None:
    """5 000 new items make the same size of email, web version and PDF as 100, and each
    says how many more there are and where to find them, in the reader's language."""
    settings = make_settings()
    sizes = []
    for count in (100, 5_000):
        edition, _ = _composed(count)
        email = render_edition_email(edition, settings, LINKS)
        web = render_edition_web(edition, settings, LINKS)
        pdf_html = render_edition_pdf_html(edition, settings, LINKS)
        sizes.append((len(email.html), len(web), len(pdf_html)))
        unlisted = count - 60
        sentence = f"{unlisted} more items are not listed: see the feeds and the archive."
        for form in (email.html, email.text, web, pdf_html):
            assert sentence in form
        assert "40 more in the web version" in email.html  # 60 listed, 20 in the email
        assert len(re.findall(r">Item number \d+<", web)) == 60
        assert f'href="{settings.site.base_url}/feeds/"' in web
        assert f'href="{LINKS.archive_url}"' in web
    (small_email, small_web, small_pdf), (big_email, big_web, big_pdf) = sizes
    assert abs(big_web - small_web) < 200 and abs(big_pdf - small_pdf) < 200
    assert abs(big_email - small_email) < 200
    french = render_edition_web(_composed(5_000)[0], make_settings(language="fr"), LINKS)
    assert "4940 autres éléments ne sont pas listés" in french


def test_an_edition_within_max_web_items_lists_everything_and_says_nothing_more() -> None:
    edition, _ = _composed(50)
    web = render_edition_web(edition, make_settings(), LINKS)
    assert len(re.findall(r">Item number \d+<", web)) == 50
    assert "not listed" not in web
