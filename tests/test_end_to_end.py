"""The whole product on the sample content, through the real command, as ``make run`` does.

One run of ``digest run --once`` as of 2019-03-18 08:00 Brussels (the Monday edition of the
seeds' weeks), then its outputs are read back with the tools a reader would use: feedparser
for the feeds, the email package for the outbox, pypdf for the PDF.
"""

from __future__ import annotations

import email
import shutil
from email.message import Message
from pathlib import Path

import feedparser
import pytest
from pypdf import PdfReader

from tests.conftest import ROOT, approve_sample_bulletin, run_digest

THEME_ITEMS = {
    "cooperation": {
        "Turin citizens panel makes three recommendations on technology",
        "Terrassa citizens' panel agrees recommendations on social rights",
        "Bologna - Let's do it together!",
        "WG creative citizenship met in Ostend",
    },
    "knowledge-society": {"Turin citizens panel makes three recommendations on technology"},
    "economy": {"Braga is 5th city to pledge to the EU Pillar of Social Rights"},
    "culture": {"Bologna - Let's do it together!"},
    "environment": {
        "Be part of the best European energy projects at EU Sustainable Energy Week Awards"},
}

# Seed items of the four weeks before 18 March 2019, and the events still to come then.
EDITION_ITEMS = [
    "Bologna - Let's do it together!",
    "EUROCITIES - city leaders agenda for Europe",
    "Join our study visit to the education authorities in Barcelona on 24-26 April",
    "Register NOW for the policy transfer study visit to Toulouse on Roma access to housing",
    "WG creative citizenship met in Ostend",
    "Turin citizens panel makes three recommendations on technology",
    "Register NOW for the WG Smart Social Inclusion meeting - 27 March, Glasgow",
    "EUROCITIES launches new initiative of city pledges at the European Parliament",
    "21 cities pledge to implement the European Pillar of Social Rights",
    "Lyon pledges to support employment, gender equality and social inclusion",
    "Terrassa citizens' panel agrees recommendations on social rights",
    "Tune in to view LIVE our event at the European Parliament on 21 February 2019",
    "Social Innovation Lab",  # 25-27 March
    "WG Smart Social Inclusion - 27 March, Glasgow",
    "WG Roma inclusion policy transfer on Roma access to adequate housing - 9-10 April, Toulouse",
    "Urban Academy on Integration of Migrants and Refugees - 21-22 May, Antwerp",
    "Social Affairs Forum meeting - 22-24 October, Warsaw",
]
NOT_IN_EDITION = [
    "Utrecht signs a strong pledge to combat and prevent homelessness",  # 15 Feb: too old
    "Webinar on active involvement of citizens for energy saving",  # January: over
    "Gothenburg is 3rd city to sign pledge to the EU Pillar of Social Rights",
]
BULLETIN_SECTIONS = [
    "Working group meeting in Stuttgart on 24 October",
    "New EURO CITIES report: Cities delivering social rights",
    "Pledges to support employment in EURO CITIES",
    "New EURO CITIES handbook on critical friend review",
    "2019-2020 WG priorities",
    "Upcoming meetings and activities",
]


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    project = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "schedules.yaml", project / "schedules.yaml")
    shutil.copytree(ROOT / "sample", project / "sample")
    approve_sample_bulletin(project)
    result = run_digest(project, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    return project, result.stdout


def _messages(project: Path) -> list[Message]:
    return [email.message_from_bytes(p.read_bytes()) for p in
            sorted((project / "out" / "outbox").glob("*.eml"))]


def test_run_prints_where_every_output_went(ran: tuple[Path, str]) -> None:
    project, stdout = ran
    for relative in ["feeds/all.atom", "feeds/cooperation.rss", "feeds/index.opml",
                     "out/editions/weekly/1/email.html", "out/editions/weekly/1/email.txt",
                     "out/editions/weekly/1/weekly-1.pdf", "out/editions/weekly/1/index.html",
                     "out/bulletins/2019-03-wg-smart-social-inclusion/index.html",
                     "out/outbox"]:
        path = project / relative
        assert path.exists(), relative
        assert str(path) in stdout, f"{relative} missing from the summary"
    assert "source social-innovation: 7 new, 0 updated, 1 duplicate" in stdout
    assert "source cooperation-culture: 6 new, 0 updated, 3 duplicate" in stdout


@pytest.mark.parametrize("theme", sorted(THEME_ITEMS))
def test_theme_feeds_parse_and_list_each_seed_item_once(ran: tuple[Path, str],
                                                        theme: str) -> None:
    project, _ = ran
    for suffix in ("atom", "rss"):
        parsed = feedparser.parse((project / "feeds" / f"{theme}.{suffix}").read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        titles = [entry.title for entry in parsed.entries]
        assert sorted(titles) == sorted(THEME_ITEMS[theme]), (suffix, titles)


def test_the_all_feed_holds_every_distinct_seed_item_once(ran: tuple[Path, str]) -> None:
    project, _ = ran
    parsed = feedparser.parse((project / "feeds" / "all.atom").read_bytes())
    titles = [entry.title for entry in parsed.entries]
    assert len(titles) == len(set(titles)) == 24  # 18 distinct listing items + 6 events
    assert titles.count("Utrecht signs a strong pledge to combat and prevent homelessness") == 1


def test_edition_email_holds_the_items_of_those_weeks_under_gmail_limit(
        ran: tuple[Path, str]) -> None:
    project, _ = ran
    html = (project / "out" / "editions" / "weekly" / "1" / "email.html").read_text()
    assert len(html.encode()) < 102 * 1024
    from html import unescape

    text = unescape(html)
    assert text.count(">News<") + text.count(">Events<") >= 2, "sections are titled"
    for title in EDITION_ITEMS:
        assert title in text, title
    for title in NOT_IN_EDITION:
        assert title not in text, title
    body = text.index("Events", text.index("<body"))
    events = [text.index(t, body) for t in EDITION_ITEMS[-5:]]
    assert events == sorted(events), "events are listed by start date"


def test_every_outbox_message_has_both_parts_and_one_click_headers(
        ran: tuple[Path, str]) -> None:
    project, _ = ran
    messages = _messages(project)
    # 6 members: 5 get the digest (the environment-only member has nothing new) + 6 bulletins.
    assert len(messages) == 11
    for message in messages:
        assert message.get_content_type() == "multipart/alternative"
        types = [part.get_content_type() for part in message.walk()]
        assert "text/plain" in types and "text/html" in types
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Unsubscribe"].startswith("<https://forum.example.org/digest/u/")
        assert message["Message-ID"] and message["Date"]
    recipients = [m["To"] for m in messages]
    assert len(set(recipients)) == 6
    assert not any("jan.devries" in m["To"] and "weekly" in str(m["Subject"]).lower()
                   for m in messages if "Social Affairs weekly" in str(m["Subject"]))


def test_bulletin_pdf_text_holds_every_section_title(ran: tuple[Path, str]) -> None:
    project, _ = ran
    pdf = project / "out" / "bulletins" / "2019-03-wg-smart-social-inclusion" / \
        "2019-03-wg-smart-social-inclusion.pdf"
    text = " ".join((page.extract_text() or "") for page in PdfReader(pdf).pages)
    text = " ".join(text.split())
    for title in BULLETIN_SECTIONS:
        assert title in text, title


def test_a_second_run_adds_nothing_and_sends_nothing(ran: tuple[Path, str]) -> None:
    project, _ = ran
    before = sorted(p.name for p in (project / "out" / "outbox").iterdir())
    again = run_digest(project, "run", "--once")
    assert again.returncode == 0, again.stderr
    assert "messages sent: 0" in again.stdout
    assert " 0 new" in again.stdout and not any(
        line for line in again.stdout.splitlines()
        if line.startswith("source") and " 0 new" not in line)
    assert sorted(p.name for p in (project / "out" / "outbox").iterdir()) == before
    status = run_digest(project, "status")
    assert "items stored: 24" in status.stdout
    assert "weekly/1 [sent]" in status.stdout and "5 sent" in status.stdout
