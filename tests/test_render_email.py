"""The HTML email: MJML compiled, CSS inlined, everything a member needs, and small."""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import replace

import pytest
from mjml import mjml2html

from digest.errors import RenderError
from digest.models import PLACEHOLDERS, EventInfo, Kind, RenderedEmail
from digest.render.email import (
    compile_mjml,
    inline_css,
    render_bulletin_email,
    render_edition_email,
    render_edition_mjml,
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

GMAIL_CLIP = 102 * 1000


def visible(html: str) -> str:
    """The HTML's text: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]*>", "", html)).split())


@pytest.fixture(scope="module")
def digest_email() -> RenderedEmail:
    return render_edition_email(make_edition(omitted=3), make_settings(), LINKS)


@pytest.fixture(scope="module")
def bulletin_email() -> RenderedEmail:
    settings = make_settings()
    return render_bulletin_email(make_bulletin(settings, upcoming=(EVENTS[1],)), settings,
                                 BULLETIN_LINKS)


def test_the_mjml_source_compiles() -> None:
    mjml = render_edition_mjml(make_edition(), make_settings(), LINKS)
    assert mjml.lstrip().startswith("<mjml")
    html = mjml2html(mjml)
    assert "<mjml" not in html and "<mj-" not in html


def test_digest_holds_every_item_and_its_details(digest_email: RenderedEmail) -> None:
    text = visible(digest_email.html)
    for item in ALL_ITEMS:
        assert item.title in text
        assert htmllib.escape(item.link or "") in digest_email.html  # & written as &amp;
    for label in ("Cooperation", "Knowledge society", "Economy", "Culture", "Environment"):
        assert re.search(rf'<span class="tag"[^>]*>{label}</span>', digest_email.html)
    for section in ("News", "Events", "Case studies", "Publications"):
        assert f">{section}</h2>" in digest_email.html
    assert "22–24 October 2019, Warsaw" in text
    assert "27 March 2019, Glasgow" in text
    assert "21–22 May 2019, Antwerp" in text
    assert "17 January 2019, 15:00–16:00" in text
    assert "4 March 2019" in text
    assert re.search(r"<li[^>]*>Inclusive education</li>", digest_email.html)  # summary kept


def test_sections_keep_the_editions_order(digest_email: RenderedEmail) -> None:
    positions = [digest_email.html.index(f">{s}</h2>")
                 for s in ("News", "Events", "Case studies", "Publications")]
    assert positions == sorted(positions)


def test_header_subject_preheader_and_view_in_browser(digest_email: RenderedEmail) -> None:
    assert digest_email.subject == "Social Affairs weekly #12 – 18 March 2019"
    assert digest_email.preheader.startswith(
        "Turin citizens panel makes three recommendations on technology · ")
    assert len(digest_email.preheader) <= 140
    text = visible(digest_email.html)
    assert digest_email.preheader in text
    assert "EUROCITIES Social Affairs Forum" in text and "#12 · 18 March 2019" in text
    assert f'<a href="{LINKS.web_url}"' in digest_email.html
    assert "View in browser" in text
    assert digest_email.language == "en"


def test_placeholders_survive_in_html_and_text(digest_email: RenderedEmail) -> None:
    for key in ("unsubscribe_url", "preferences_url"):
        marker = PLACEHOLDERS[key]
        assert f'href="{marker}"' in digest_email.html
        assert marker in digest_email.text
    assert f'href="{LINKS.archive_url}"' in digest_email.html


def test_html_is_a_proper_mjml_document(digest_email: RenderedEmail) -> None:
    html = digest_email.html
    assert html.startswith("<!DOCTYPE html>")
    assert re.search(r'<html[^>]* lang="en"', html)
    assert "@media only screen and (min-width:480px)" in html  # MJML's responsive rules
    assert "!important" in html
    assert "max-width:480px" in html  # our own mobile rules, kept as a style block
    assert re.search(r'<h2 style="[^"]*color:#0b3d62', html)  # inline.css inlined
    assert "data-premailer" not in html


def test_omitted_items_point_to_the_web_version(digest_email: RenderedEmail) -> None:
    assert "3 more in the web version" in digest_email.html
    assert re.search(rf'<a href="{re.escape(LINKS.web_url)}"[^>]*>3 more in the web version',
                     digest_email.html)
    full = render_edition_email(make_edition(), make_settings(), LINKS)
    assert "more in the web version" not in full.html


def test_the_sample_digest_is_well_under_gmails_clipping(digest_email: RenderedEmail) -> None:
    assert len(digest_email.html.encode()) < 60_000


def test_fifty_items_stay_under_gmails_clipping() -> None:
    items = [replace(ALL_ITEMS[i % len(ALL_ITEMS)], key=f"item-{i}",
                     title=f"{ALL_ITEMS[i % len(ALL_ITEMS)].title} ({i})") for i in range(50)]
    rendered = render_edition_email(make_edition(items), make_settings(), LINKS)
    assert len(rendered.html.encode()) < GMAIL_CLIP * 0.8


def test_a_hostile_title_is_escaped() -> None:
    hostile = replace(ALL_ITEMS[0], title='<script>alert("x")</script> & <b>bold</b>',
                      event=None, kind=Kind.NEWS)
    rendered = render_edition_email(make_edition([hostile]), make_settings(), LINKS)
    assert "<script>" not in rendered.html and "<b>bold</b>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "&lt;script&gt;" in rendered.mjml  # escaped before MJML sees it


def test_an_unsafe_link_is_not_linked() -> None:
    unsafe = replace(ALL_ITEMS[0], link="javascript:alert(1)")
    rendered = render_edition_email(make_edition([unsafe]), make_settings(), LINKS)
    assert "javascript:" not in rendered.html
    assert unsafe.title in visible(rendered.html)


def test_another_language() -> None:
    rendered = render_edition_email(make_edition(), make_settings(), LINKS, language="fr")
    assert re.search(r'<html[^>]* lang="fr"', rendered.html)
    assert rendered.subject == "Social Affairs weekly #12 – 18 mars 2019"
    assert "Se désabonner" in rendered.html and "22–24 octobre 2019" in visible(rendered.html)
    assert rendered.language == "fr"


def test_mjml_errors_and_inliner_errors_are_render_errors() -> None:
    with pytest.raises(RenderError, match="MJML"):
        compile_mjml("<mjml><mj-body><mj-section>")
    html = inline_css(compile_mjml("<mjml><mj-body></mj-body></mjml>"), "p { color: red; }")
    assert html.startswith("<!DOCTYPE html>")


def test_timed_event_in_an_email() -> None:
    assert EVENTS[3].event is not None
    webinar = replace(EVENTS[3], event=EventInfo(EVENTS[3].event.start, None, "Online"))
    rendered = render_edition_email(make_edition([webinar]), make_settings(), LINKS)
    assert "17 January 2019, 15:00, Online" in visible(rendered.html)


# ---------------------------------------------------------------- the bulletin


def test_bulletin_looks_like_the_seed(bulletin_email: RenderedEmail) -> None:
    text = visible(bulletin_email.html)
    assert "EUROCITIES Social Affairs Forum" in text
    assert "25–27 March 2019, Glasgow" in text
    assert "Updates from WG Smart Social Inclusion" in text
    for title in SEED_004_SECTION_TITLES:
        assert title in text
    numbers = re.findall(r'<span class="number"[^>]*>(\d+)\.</span>', bulletin_email.html)
    assert numbers == ["1", "2", "3", "4"]
    assert "1. Working group meeting in Stuttgart on 24 October" in text
    assert bulletin_email.html.count("<li") >= 4 + 7 + 3
    assert re.search(r"<ol[^>]*>", bulletin_email.html)
    assert "Fomenting social enterprise" in text
    assert 'financial support from the European Union Programme for Employment and Social ' \
        'Innovation "EaSI" (2014-2020)' in text
    assert 'href="http://ec.europa.eu/social/easi"' in bulletin_email.html


def test_bulletin_order_is_the_seeds(bulletin_email: RenderedEmail) -> None:
    text = visible(bulletin_email.html)
    positions = [text.index(t) for t in ["Updates from WG Smart Social Inclusion",
                                         *SEED_004_SECTION_TITLES, "financial support"]]
    assert positions == sorted(positions)
    assert text.index("financial support") < text.index("Unsubscribe")


def test_bulletin_upcoming_events_join_its_meetings_list(bulletin_email: RenderedEmail) -> None:
    text = visible(bulletin_email.html)
    upcoming = text[text.index("Upcoming meetings and activities"):]
    assert "Autumn WG meeting in Warsaw" in upcoming
    assert "Social Affairs Forum meeting - 22-24 October, Warsaw" in upcoming
    assert "22–24 October 2019, Warsaw" in upcoming
    assert upcoming.index("Autumn WG meeting") < upcoming.index("Social Affairs Forum meeting")


def test_bulletin_subject_preheader_placeholders_size(bulletin_email: RenderedEmail) -> None:
    assert bulletin_email.subject == "Updates from WG Smart Social Inclusion – 25–27 March 2019"
    assert bulletin_email.preheader.startswith("Working group meeting in Stuttgart on 24 October")
    for key in ("unsubscribe_url", "preferences_url"):
        assert PLACEHOLDERS[key] in bulletin_email.html
        assert PLACEHOLDERS[key] in bulletin_email.text
    assert re.search(r'<html[^>]* lang="en"', bulletin_email.html)
    assert bulletin_email.html.count('href="#"') == 7  # placeholders kept for the lint
    assert len(bulletin_email.html.encode()) < 40_000


def test_images_carry_alt_text(bulletin_email: RenderedEmail, digest_email: RenderedEmail) -> None:
    for html in (bulletin_email.html, digest_email.html):
        for tag in re.findall(r"<img\b[^>]*>", html):
            assert re.search(r'\balt="[^"]+"', tag), tag
