"""Values built in memory from the seed content, shared by the render and bulletin tests.

An edition of the seed's twenty items, the seed bulletin and the settings they were written
for; ``tests/test_support.py`` checks that these values are what the tests assume.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from digest.bulletins import load_bulletin
from digest.config import Settings
from digest.models import (
    SECTION_TITLES,
    Bulletin,
    Edition,
    EditionLinks,
    EventInfo,
    Item,
    Kind,
    Section,
)
from digest.testing import build_settings

FIXTURES = Path(__file__).parent / "fixtures" / "render"
BULLETIN_FILE = FIXTURES / "2019-03-wg-smart-social-inclusion.md"
SAMPLE_BULLETIN = (Path(__file__).parent.parent / "sample" / "bulletins"
                   / "2019-03-wg-smart-social-inclusion.md")

BASE = "https://forum.example.org/digest"
LINKS = EditionLinks(
    web_url=f"{BASE}/editions/weekly/12/",
    archive_url=f"{BASE}/editions/weekly/",
    pdf_url=f"{BASE}/editions/weekly/12/weekly-12.pdf",
)
BULLETIN_LINKS = EditionLinks(
    web_url=f"{BASE}/bulletins/2019-03-wg-smart-social-inclusion/",
    archive_url=f"{BASE}/bulletins/",
    pdf_url=f"{BASE}/bulletins/2019-03-wg-smart-social-inclusion/"
            "2019-03-wg-smart-social-inclusion.pdf",
)


THEMES: dict[str, str | dict[str, object]] = {
    "cooperation": "Cooperation",
    "knowledge-society": {"title": "Knowledge society", "aliases": ["knowledge society"]},
    "economy": "Economy",
    "culture": "Culture",
    "environment": "Environment",
}


def make_settings(base_dir: Path | None = None, language: str = "en") -> Settings:
    """Settings as the seed's ``schedules.yaml`` gives them, rooted at ``base_dir`` (for
    a project's own templates)."""
    return build_settings(base_dir or Path(__file__).parent.parent, themes=THEMES,
                          site={"title": "EUROCITIES Social Affairs Forum", "base_url": BASE,
                                "language": language})


def _when(day: str) -> datetime:
    d, m, y = (int(p) for p in day.split("-"))
    return datetime(y, m, d, 9, 0, tzinfo=UTC)


def _item(kind: Kind, title: str, summary: str, day: str, themes: tuple[str, ...] = (),
          slug: str = "", event: EventInfo | None = None) -> Item:
    slug = slug or "-".join(title.lower().split()[:6]).replace("'", "")
    link = f"https://www.eurocities.eu/latest/{slug}?utm_source=feed&id=1"
    return Item(key=link, kind=kind, title=title, link=link,
                summary_html=f"<p>{summary}</p>", published=_when(day), themes=themes,
                source_id="social-innovation", event=event)


NEWS = [
    _item(Kind.NEWS, "Turin citizens panel makes three recommendations on technology",
          "As part of our Cities4Europe campaign, Turin's citizens' consultation discussed the "
          "role of technology in the socio-economic and cultural development of Europe.",
          "04-03-2019", ("cooperation", "knowledge-society")),
    _item(Kind.NEWS, "Register NOW for the WG Smart Social Inclusion meeting - 27 March, Glasgow",
          "We are pleased to invite you to join the meeting of WG Smart Social Inclusion on "
          "27 March in Glasgow.", "28-02-2019", ("cooperation",)),
    _item(Kind.NEWS, "EUROCITIES launches new initiative of city pledges at the European "
          "Parliament",
          "21 cities, representing more than 20 million citizens have presented their pledges "
          "to act on the principles of the European Pillar of Social Rights through dedicated "
          "investments for city measures. In total, the 21 cities pledge to invest €4.32 "
          "billion to fight poverty and social exclusion over the next 5 years.",
          "22-02-2019", ("cooperation", "economy")),
    _item(Kind.NEWS, "Lyon pledges to support employment, gender equality and social inclusion",
          "Lyon metropole ('Grand Lyon') is the 21st city to sign a pledge to the European "
          "Pillar of Social Rights.", "18-02-2019", ("cooperation",)),
    _item(Kind.NEWS, "Terrassa citizens' panel agrees recommendations on social rights",
          "As part of our Cities4Europe campaign, Terrassa organised a citizens' consultation "
          "to develop recommendations, on social rights relating to housing and work, "
          "education and migration and governance and participation, which will be sent to "
          "the European Commission.", "18-02-2019", ("cooperation",)),
    _item(Kind.NEWS, "Tune in to view LIVE our event at the European Parliament on 21 February "
          "2019",
          "Do not miss out on the launch of our new EUROCITIES initiative ‘Inclusive Cities "
          "for All: Social Rights in My City’ in the European Parliament on 21 February from "
          "10.00 - 12.30.", "18-02-2019"),
    _item(Kind.NEWS, "Utrecht signs a strong pledge to combat and prevent homelessness",
          "Today, Utrecht became the 20th city to sign a pledge to the European Pillar of "
          "Social Rights. The Deputy Mayor for Social Affairs, Maarten van Ooijen, who is also "
          "our vice-chair of the EUROCITIES Social Affairs Forum, signed a strong commitment "
          "to principle 19 on housing and assistance for the homeless.", "15-02-2019",
          ("cooperation",)),
    _item(Kind.NEWS, "Braga is 5th city to pledge to the EU Pillar of Social Rights",
          "Today, Braga became the 5th city to sign a pledge to the EU Pillar of Social Rights. "
          "Braga's Mayor, Ricardo Rio, signed a strong commitment to principle 18 on long-term "
          "care.", "09-01-2019", ("economy",)),
    _item(Kind.NEWS, "Join our study visit to the education authorities in Barcelona on "
          "24-26 April",
          "EUROCITIES is organising a study visit to Barcelona on 24-26 April in the framework "
          "of its Working Group inclusion through education.", "08-03-2019", ("cooperation",)),
    _item(Kind.NEWS, "Register NOW for the policy transfer study visit to Toulouse on Roma "
          "access to housing",
          "How can cities support Roma to move from camps into adequate housing? This is the "
          "theme that EUROCITIES is exploring during a study visit to Toulouse on 9-10 April "
          "to support policy transfer of promising city measures for Roma access to adequate "
          "housing.", "07-03-2019", ("cooperation",)),
    _item(Kind.NEWS, "WG creative citizenship met in Ostend",
          "To have meaningful citizen’s participation and co-creation of local policies, "
          "chose to engage with conflict, “cherish your angry citizens” said professor Wouter "
          "Van Dooren in a public lecture in Ostend last week, in front of our WG creative "
          "citizenship.", "06-03-2019", ("culture",)),
    _item(Kind.NEWS, "21 cities pledge to implement the European Pillar of Social Rights",
          "Within the framework of our new EUROCITIES initiative 'Inclusive Cities for All: "
          "Social Rights in My City', 21 cities have adopted pledges showing how they act to "
          "translate the principles of the European Pillar of Social Rights into actions to "
          "improve people's lives.", "19-02-2019", ("cooperation",)),
]

EVENTS = [
    _item(Kind.EVENT, "WG Smart Social Inclusion - 27 March, Glasgow",
          "We are pleased to invite you to join our next meeting of the Working Group Smart "
          "Social Inclusion on 27 March in Glasgow.", "28-02-2019", ("cooperation",),
          event=EventInfo(date(2019, 3, 27), date(2019, 3, 27), "Glasgow")),
    _item(Kind.EVENT, "Social Affairs Forum meeting - 22-24 October, Warsaw",
          "Save the Date for our autumn Social Affairs Forum meeting that will take place on "
          "22-24 October 2019 in Warsaw. The forum’s theme is: ‘Inclusive Cities for All: How "
          "to ensure social inclusion and well-being for all ages?’", "09-01-2019",
          ("cooperation",), event=EventInfo(date(2019, 10, 22), date(2019, 10, 24), "Warsaw")),
    _item(Kind.EVENT, "Urban Academy on Integration of Migrants and Refugees - 21-22 May, "
          "Antwerp",
          "City representatives are warmly invited to take part in the Urban Academy on the "
          "Integration of Migrants and Refugees, which will take place in Antwerp on 21-22 May "
          "2019.", "12-03-2019", ("cooperation", "culture"),
          event=EventInfo(date(2019, 5, 21), date(2019, 5, 22), "Antwerp")),
    _item(Kind.EVENT, "Webinar on active involvement of citizens for energy savings",
          "A one-hour webinar on how cities involve citizens in saving energy at home.",
          "10-01-2019", ("environment",),
          event=EventInfo(datetime(2019, 1, 17, 14, 0, tzinfo=UTC),
                          datetime(2019, 1, 17, 15, 0, tzinfo=UTC), None)),
]

CASE_STUDIES = [
    _item(Kind.CASE_STUDY, "Bologna - Let's do it together!",
          "In the last 5 years, Bologna has successfully trialled an urban innovation model "
          "based on circular subsidiarity and civic collaboration, the ‘collaborative city.’ "
          "This means public administrations governing not only on behalf of citizens, but "
          "also with citizens, basing their policies on the two concepts of city as commons "
          "and citizens as a great source of energy, talent, resources, capabilities and ideas "
          "in support of urban regeneration.", "14-03-2019", ("cooperation", "culture")),
    _item(Kind.CASE_STUDY, "Social Innovation Lab",
          "For the first time ever, EUROCITIES is organising a Social Innovation Lab. The theme "
          "is ‘Making Inclusive Cities through Social Innovation‘.", "11-03-2019",
          ("cooperation",)),
]

PUBLICATIONS = [
    _item(Kind.PUBLICATION, "EUROCITIES - city leaders agenda for Europe",
          "EUROCITIES political manifesto ahead of the European elections", "12-03-2019",
          ("cooperation",)),
    _item(Kind.PUBLICATION, "Cities delivering social rights",
          "A report mapping cities' policy measures in line with the European Pillar of Social "
          "Rights, in <a href=\"https://www.eurocities.eu/report.pdf\">20 cities</a>:"
          "</p><ul><li>Inclusive education</li><li>Gender equality</li></ul><p>Read it now.",
          "21-02-2019", ("economy",)),
]

ALL_ITEMS = NEWS + EVENTS + CASE_STUDIES + PUBLICATIONS


def make_edition(items: list[Item] | None = None, omitted: int = 0, number: int = 12) -> Edition:
    """An edition grouped like compose groups it: by kind, in the digest's kind order."""
    chosen = ALL_ITEMS if items is None else items
    sections = tuple(
        Section(kind=kind, title=SECTION_TITLES[kind],
                items=tuple(i for i in chosen if i.kind == kind))
        for kind in (Kind.NEWS, Kind.EVENT, Kind.CASE_STUDY, Kind.PUBLICATION)
        if any(i.kind == kind for i in chosen)
    )
    return Edition(
        digest_id="weekly", title="Social Affairs weekly", number=number,
        slot=datetime(2019, 3, 18, 7, 0, tzinfo=UTC),
        period_start=datetime(2019, 3, 11, 7, 0, tzinfo=UTC),
        period_end=datetime(2019, 3, 18, 7, 0, tzinfo=UTC),
        sections=sections, omitted=omitted,
    )


def make_bulletin(settings: Settings | None = None, upcoming: tuple[Item, ...] = ()) -> Bulletin:
    bulletin = load_bulletin(BULLETIN_FILE, settings or make_settings())
    return replace(bulletin, upcoming=upcoming) if upcoming else bulletin


SEED_004_SECTION_TITLES = [
    "Working group meeting in Stuttgart on 24 October",
    "New EURO CITIES report: Cities delivering social rights",
    "Pledges to support employment in EURO CITIES 'Inclusive cities for all: Social Rights in "
    "My City' campaign",
    "New EURO CITIES handbook on critical friend review",
    "2019-2020 WG priorities",
    "Upcoming meetings and activities",
]

