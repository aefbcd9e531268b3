"""A bulletin speaks as its own forum (footers, PDF, From display name) and its subject
says its dates once, with one dash, whatever the title's shape (issue 12, section 5)."""

from __future__ import annotations

import email
import html as htmllib
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from email import policy

import pytest

from digest.config import Settings
from digest.dates import format_date_range
from digest.mail.message import MessageFactory, Recipient, make_list_id, make_message_id
from digest.models import Bulletin
from digest.render.email import render_bulletin_email
from digest.render.pdf import render_bulletin_pdf_html
from digest.render.views import bulletin_subject
from tests.support import BULLETIN_LINKS, make_bulletin, make_settings

OWN_FORUM = "Urban Mobility Forum"
NOW = datetime(2019, 3, 28, 9, 0, tzinfo=UTC)
SHAPES = {  # start, end: one day, within a month, across months, across years
    "day": (date(2019, 3, 25), None),
    "month": (date(2019, 3, 25), date(2019, 3, 27)),
    "months": (date(2019, 3, 30), date(2019, 4, 2)),
    "years": (date(2019, 12, 30), date(2020, 1, 2)),
}
DASHES = re.compile(r"[–—-]")


def _visible(markup: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]*>", " ", markup)).split())


def _bulletin(forum: str) -> tuple[Bulletin, Settings]:
    settings = make_settings()
    assert settings.site.title != OWN_FORUM
    return replace(make_bulletin(settings), forum=forum), settings


@pytest.mark.parametrize(("forum", "shown"), [(OWN_FORUM, OWN_FORUM), ("", None), ("  ", None)])
def test_footers_and_from_name_are_the_bulletins_forum(forum: str, shown: str | None) -> None:
    bulletin, settings = _bulletin(forum)
    expected = shown or settings.site.title
    rendered = render_bulletin_email(bulletin, settings, BULLETIN_LINKS)
    line = f"You receive this email as a subscriber of {expected}."
    assert line in _visible(rendered.html)
    assert line in " ".join(rendered.text.split())
    pdf = render_bulletin_pdf_html(bulletin, settings, BULLETIN_LINKS)
    footer = pdf.split('<footer class="doc-footer">', 1)[1]
    assert _visible(footer).endswith(f"{expected} · {BULLETIN_LINKS.web_url}")
    assert f'<meta name="author" content="{htmllib.escape(expected)}">' in pdf

    factory = MessageFactory(rendered, settings, make_list_id(settings, "bulletins"),
                             NOW)
    who = Recipient(email="ben@example.org", name="Ben", unsubscribe_url="https://x.org/u",
                    preferences_url="https://x.org/p")
    envelope = factory.build(who, make_message_id(settings, "b/1", who.email))
    message = email.message_from_bytes(envelope.data, policy=policy.default)
    sender = message["From"].addresses[0]
    assert sender.display_name == expected
    assert sender.addr_spec == settings.site.sender.address
    assert envelope.sender == settings.site.sender.address


def test_a_message_without_its_own_name_keeps_the_sites_sender_name() -> None:
    settings = make_settings()
    rendered = render_bulletin_email(make_bulletin(settings), settings, BULLETIN_LINKS)
    factory = MessageFactory(replace(rendered, sender_name=""), settings,
                             make_list_id(settings, "bulletins"), NOW)
    who = Recipient(email="ben@example.org", name="", unsubscribe_url="https://x.org/u",
                    preferences_url="https://x.org/p")
    envelope = factory.build(who, make_message_id(settings, "b/1", who.email))
    message = email.message_from_bytes(envelope.data, policy=policy.default)
    assert message["From"].addresses[0].display_name == settings.site.sender.name


@pytest.mark.parametrize("language", ["en", "fr", "de"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("title", ["Updates from WG Smart Social Inclusion",
                                   "Updates from WG Smart Social Inclusion –",
                                   "Updates from WG Smart Social Inclusion - ",
                                   "Updates —"])
def test_subject_says_the_dates_once_after_one_dash(language: str, shape: str,
                                                    title: str) -> None:
    start, end = SHAPES[shape]
    bulletin = replace(make_bulletin(), title=title, start_date=start, end_date=end,
                       language=language)
    dates = format_date_range(start, end, language)  # as the body says them
    subject = bulletin_subject(bulletin)
    head = title.rstrip(" –—-")
    assert subject == f"{head} – {dates}"
    assert len(DASHES.findall(subject)) == len(DASHES.findall(head + dates)) + 1


@pytest.mark.parametrize("language", ["en", "fr", "de"])
@pytest.mark.parametrize("shape", ["month", "months", "years"])
@pytest.mark.parametrize("spacing", [" – ", "–", " - ", "-"])
def test_a_title_that_already_holds_the_range_does_not_repeat_it(language: str, shape: str,
                                                                 spacing: str) -> None:
    start, end = SHAPES[shape]
    dates = format_date_range(start, end, language)
    first, last = re.split(r"\s*–\s*", dates, maxsplit=1)
    title = f"Social Affairs Forum {first}{spacing}{last}"
    bulletin = replace(make_bulletin(), title=title, start_date=start, end_date=end,
                       language=language)
    assert bulletin_subject(bulletin) == title
