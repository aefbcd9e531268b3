"""Composing editions is pure: these tests build items in memory and need no store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from digest.compose import compose_edition, upcoming_events, variants_for
from digest.config import DigestSettings
from digest.identifiers import VariantKey
from digest.models import EventInfo, Item, Kind, Subscriber

ZONE = ZoneInfo("Europe/Brussels")
NOW = datetime(2019, 3, 18, 8, tzinfo=ZONE)
WEEKLY = DigestSettings(id="weekly", title="Weekly", cron="0 8 * * mon", max_items=40)


def item(title: str, kind: Kind = Kind.NEWS, published: str = "2019-03-04",
         themes: tuple[str, ...] = (), seen: datetime = NOW,
         event: EventInfo | None = None) -> Item:
    day = date.fromisoformat(published)
    return Item(key=f"https://example.org/{title}", kind=kind, title=title,
                link=f"https://example.org/{title}", summary_html="<p>x</p>",
                published=datetime(day.year, day.month, day.day, tzinfo=ZONE).astimezone(UTC),
                themes=themes, source_id="s", event=event, first_seen=seen)


def test_sections_follow_kind_order_and_events_sort_by_start() -> None:
    items = [
        item("older-news", published="2019-03-01"),
        item("newer-news", published="2019-03-12"),
        item("warsaw", Kind.EVENT, event=EventInfo(date(2019, 10, 22), date(2019, 10, 24))),
        item("glasgow", Kind.EVENT, event=EventInfo(date(2019, 3, 27), date(2019, 3, 27))),
        item("bologna", Kind.CASE_STUDY, published="2019-03-14"),
        item("manifesto", Kind.PUBLICATION, published="2019-03-12"),
    ]
    edition = compose_edition(WEEKLY, items, cursor=None, slot=NOW, now=NOW, number=1, zone=ZONE)
    assert [s.title for s in edition.sections] == ["News", "Events", "Case studies",
                                                   "Publications"]
    assert [i.title for i in edition.sections[0].items] == ["newer-news", "older-news"]
    assert [i.title for i in edition.sections[1].items] == ["glasgow", "warsaw"]


def test_past_events_old_items_and_already_sent_items_are_not_new() -> None:
    cursor = NOW - timedelta(days=7)
    items = [
        item("webinar", Kind.EVENT, event=EventInfo(date(2019, 1, 17), date(2019, 1, 17))),
        item("today-event", Kind.EVENT, event=EventInfo(date(2019, 3, 18), date(2019, 3, 18))),
        item("archive", published="2018-12-19"),
        item("last-week", seen=cursor),
        item("fresh", published="2019-03-14"),
        item("future-seen", seen=NOW + timedelta(minutes=1)),
    ]
    edition = compose_edition(WEEKLY, items, cursor=cursor, slot=NOW, now=NOW, number=2,
                              zone=ZONE)
    assert sorted(i.title for i in edition.items) == ["fresh", "today-event"]


def test_digest_themes_kinds_and_cap_are_applied() -> None:
    narrow = DigestSettings(id="culture", title="Culture", cron="0 8 * * mon",
                            themes=["culture"], kinds=[Kind.NEWS], max_items=2)
    items = [item(f"n{i}", themes=("culture",), published=f"2019-03-0{i}") for i in range(1, 5)]
    items += [item("other-theme", themes=("economy",)),
              item("case", Kind.CASE_STUDY, themes=("culture",))]
    edition = compose_edition(narrow, items, cursor=None, slot=NOW, now=NOW, number=1, zone=ZONE)
    assert [i.title for i in edition.items] == ["n4", "n3"]
    assert edition.omitted == 2


def test_an_edition_with_nothing_new_is_empty() -> None:
    edition = compose_edition(WEEKLY, [item("archive", published="2018-01-01")], cursor=None,
                              slot=NOW, now=NOW, number=1, zone=ZONE)
    assert edition.is_empty


def test_variants_are_per_theme_subset_not_per_member() -> None:
    items = [item("coop", themes=("cooperation",)), item("culture", themes=("culture",)),
             item("untagged")]
    edition = compose_edition(WEEKLY, items, cursor=None, slot=NOW, now=NOW, number=1, zone=ZONE)
    members = [Subscriber(email=f"m{i}@example.org", name="", language="en",
                          digests=("weekly",), themes=themes)
               for i, themes in enumerate([(), (), ("cooperation",), ("cooperation",),
                                           ("environment",), ("culture", "cooperation")])]
    variants = variants_for(edition, members)
    assert {str(key) for key in variants} == {"all", "cooperation", "environment",
                                              "cooperation+culture"}
    by_text = {str(key): variant for key, variant in variants.items()}
    assert len(by_text["all"].edition.items) == 3
    assert [i.title for i in by_text["cooperation"].edition.items] == ["coop"]
    assert by_text["environment"].edition.is_empty
    assert VariantKey.of(("culture", "cooperation")) == VariantKey.of(("cooperation", "culture"))


def _many(count: int, seed: int) -> list[Item]:
    """Items of every kind with colliding dates and titles, in a shuffled order."""
    import random

    chooser = random.Random(seed)
    kinds = [Kind.NEWS, Kind.EVENT, Kind.CASE_STUDY, Kind.PUBLICATION]
    made = []
    for n in range(count):
        kind = chooser.choice(kinds)
        day = date(2019, 3, 1) + timedelta(days=chooser.randrange(17))
        event = (EventInfo(date(2019, 4, 1) + timedelta(days=chooser.randrange(30)))
                 if kind is Kind.EVENT else None)
        made.append(item(f"t{chooser.randrange(count // 3 + 1)}-{n}", kind, day.isoformat(),
                         event=event))
    chooser.shuffle(made)
    return made


def _fully_sorted(items: list[Item], digest: DigestSettings) -> list[str]:
    """What the edition and its web version list, by sorting everything (the reference)."""
    everything = compose_edition(
        DigestSettings(id=digest.id, title=digest.title, cron=digest.cron,
                       max_items=len(items) + 1), items, cursor=None, slot=NOW, now=NOW,
        number=1, zone=ZONE)
    in_order = [i.key for i in everything.items]
    return in_order[:max(digest.max_web_items, digest.max_items)]


def test_a_stream_of_any_length_gives_what_sorting_everything_gives() -> None:
    digest = DigestSettings(id="w", title="W", cron="0 8 * * mon", max_items=30,
                            max_web_items=120)
    for seed in range(5):
        items = _many(2_000, seed)
        edition = compose_edition(digest, iter(items), cursor=None, slot=NOW, now=NOW,
                                  number=1, zone=ZONE)
        shown = [i.key for i in edition.items]
        assert len(shown) == 30
        listed_after = [i.key for i in edition.overflow]
        reference = _fully_sorted(items, digest)
        # the email's items are the first 30 in reading order; the overflow the next 90
        assert shown == reference[:30]
        assert listed_after == reference[30:]
        assert edition.omitted == 2_000 - 30
        assert edition.unlisted == 2_000 - 120


def test_the_forms_list_at_most_max_web_items_and_count_the_rest() -> None:
    digest = DigestSettings(id="w", title="W", cron="0 8 * * mon", max_items=10,
                            max_web_items=25)
    small = compose_edition(digest, _many(20, 1), cursor=None, slot=NOW, now=NOW, number=1,
                            zone=ZONE)
    assert (len(small.items), len(small.overflow), small.omitted, small.unlisted) == (10, 10,
                                                                                      10, 0)
    big = compose_edition(digest, _many(5_000, 2), cursor=None, slot=NOW, now=NOW, number=1,
                          zone=ZONE)
    assert (len(big.items), len(big.overflow), big.omitted, big.unlisted) == (10, 15, 4_990,
                                                                              4_975)
    # max_web_items below max_items: the email's items are still listed, nothing more
    tight = DigestSettings(id="w", title="W", cron="0 8 * * mon", max_items=10,
                           max_web_items=5)
    capped = compose_edition(tight, _many(50, 3), cursor=None, slot=NOW, now=NOW, number=1,
                             zone=ZONE)
    assert (len(capped.items), len(capped.overflow), capped.unlisted) == (10, 0, 40)


def test_a_bulletin_lists_the_nearest_upcoming_events_of_its_themes_however_many() -> None:
    weekly = [item(f"meeting-{n}", Kind.EVENT, themes=("culture",),
                   event=EventInfo(date(2019, 3, 19) + timedelta(weeks=52 - n)))
              for n in range(53)]
    other = item("elsewhere", Kind.EVENT, themes=("economy",),
                 event=EventInfo(date(2019, 3, 18)))
    past = item("over", Kind.EVENT, themes=("culture",), event=EventInfo(date(2019, 3, 1)))
    chosen = upcoming_events(iter([*weekly, other, past]), ("culture",), NOW, ZONE, limit=10)
    assert [i.title for i in chosen] == [f"meeting-{n}" for n in range(52, 42, -1)]
