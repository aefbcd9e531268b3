"""The store on SQLite and on a real PostgreSQL: idempotent upserts, one edition per slot,
one delivery row per (edition, member)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.models import DeliveryStatus, EventInfo, Item, Kind, Subscriber, SubscriberStatus
from digest.store import Database, deliveries, editions, feed_items, items, subscribers

NOW = datetime(2019, 3, 18, 7, tzinfo=UTC)


def news(key: str = "https://example.org/a", title: str = "Lyon pledges", **extra: object,
         ) -> Item:
    values: dict[str, object] = dict(
        key=key, kind=Kind.NEWS, title=title, link=key, summary_html="<p>s</p>",
        published=datetime(2019, 2, 17, 23, tzinfo=UTC), themes=(), source_id="feed-a")
    values.update(extra)
    return Item(**values)  # type: ignore[arg-type]


def test_upsert_is_idempotent_and_keeps_first_seen(db: Database) -> None:
    with db.transaction() as c:
        assert items.upsert_item(c, news(), NOW) == "new"
        assert items.upsert_item(c, news(source_id="feed-b"), NOW) == "duplicate"
    later = NOW + timedelta(hours=1)
    with db.transaction() as c:
        assert items.upsert_item(c, news(), later) == "duplicate"
        assert items.upsert_item(c, news(title="Lyon pledges (updated)"), later) == "updated"
        stored = items.all_items(c)
        assert items.sources_of(c, "https://example.org/a") == ["feed-a", "feed-b"]
    assert len(stored) == 1
    assert stored[0].title == "Lyon pledges (updated)"
    assert stored[0].first_seen == NOW, "a changed item must not become new again"


def test_themes_from_two_listings_are_merged(db: Database) -> None:
    with db.transaction() as c:
        items.upsert_item(c, news(themes=("cooperation",)), NOW)
        items.upsert_item(c, news(themes=()), NOW)
        assert items.all_items(c)[0].themes == ("cooperation",)
        assert items.upsert_item(c, news(themes=("culture",)), NOW) == "updated"
        assert items.all_items(c)[0].themes == ("cooperation", "culture")


def test_events_round_trip_dates_and_times(db: Database) -> None:
    all_day = news("uid:glasgow", kind=Kind.EVENT,
                   event=EventInfo(date(2019, 3, 27), date(2019, 3, 27), "Glasgow"))
    timed = news("uid:webinar", kind=Kind.EVENT, event=EventInfo(
        datetime(2019, 1, 17, 14, tzinfo=UTC), datetime(2019, 1, 17, 15, tzinfo=UTC)))
    with db.transaction() as c:
        items.upsert_item(c, all_day, NOW)
        items.upsert_item(c, timed, NOW)
        found = {i.key: i for i in items.all_items(c)}
    assert found["uid:glasgow"].event == all_day.event
    assert found["uid:webinar"].event == timed.event
    assert all(i.published.tzinfo is not None for i in found.values())


def test_naive_datetimes_are_refused(db: Database) -> None:
    from digest.errors import StoreError

    with pytest.raises((StoreError, ValueError)), db.transaction() as c:
        items.upsert_item(c, news(published=datetime(2019, 1, 1)), NOW)


def test_one_edition_per_digest_and_slot(db: Database) -> None:
    fields = dict(digest_id="weekly", slot=NOW, number=1, status=editions.SENDING,
                  title="Weekly", period_start=None, period_end=NOW, item_keys=["a"],
                  omitted=0, now=NOW)
    with db.transaction() as c:
        first = editions.create(c, **fields)  # type: ignore[arg-type]
    with db.transaction() as c:
        second = editions.create(c, **fields)  # type: ignore[arg-type]
    assert first is not None and second is None
    with db.transaction() as c:
        assert editions.by_label(c, "weekly/1") == first
        assert editions.next_number(c, "weekly") == 2


def test_delivery_rows_are_unique_and_track_state(db: Database) -> None:
    member = Subscriber(email="Anna@Example.org", name="Anna", language="en",
                        digests=("weekly",))
    with db.transaction() as c:
        assert subscribers.add(c, member, NOW)
        assert not subscribers.add(c, replace(member, email="anna@example.org"), NOW)
        member_id = subscribers.active_for(c, "weekly")[0].id
        row = editions.create(c, digest_id="weekly", slot=NOW, number=1,
                              status=editions.SENDING, title="W", period_start=None,
                              period_end=NOW, item_keys=[], omitted=0, now=NOW)
        assert row is not None and member_id is not None
        assert deliveries.plan(c, row.id, [(member_id, "all")], NOW) == 1
        assert deliveries.plan(c, row.id, [(member_id, "all")], NOW) == 0
        pending = deliveries.pending(c, row.id)
        assert [d.subscriber.email for d in pending] == ["anna@example.org"]
        deliveries.mark(c, pending[0].id, DeliveryStatus.SENT, NOW, "<id@x>")
        assert deliveries.counts(c, row.id) == {"sent": 1}
        assert subscribers.set_status(c, "ANNA@example.org", SubscriberStatus.UNSUBSCRIBED)
        assert subscribers.active_for(c, "weekly") == []


def test_csv_import_reports_bad_rows_and_never_resurrects(db: Database, tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text("email,name,language,digests,themes\n"
                   "a@example.org,A,fr,weekly,culture\n"
                   "not-an-address,B,en,weekly,\n"
                   "c@example.org,C,de,weekly,astrology\n", encoding="utf-8")
    with db.transaction() as c:
        result = subscribers.import_csv(c, csv, NOW, "en", ["weekly"], ["culture"])
    assert result.added == 1
    assert [p.split(": ")[0] for p in result.problems] == [f"{csv}:3", f"{csv}:4"]
    with db.transaction() as c:
        subscribers.set_status(c, "a@example.org", SubscriberStatus.UNSUBSCRIBED)
        again = subscribers.import_csv(c, csv, NOW, "en", ["weekly"], ["culture"])
        assert again.added == 0 and again.known == 1
        assert subscribers.all_members(c)[0].status is SubscriberStatus.UNSUBSCRIBED


def test_a_database_of_an_older_schema_is_refused_clearly(tmp_path: Path) -> None:
    import sqlite3

    from digest.errors import StoreError

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE deliveries (id INTEGER PRIMARY KEY, edition_id INTEGER)")
    with pytest.raises(StoreError, match=r"made before migrations .*digest db upgrade"):
        Database(f"sqlite:///{path}")


def test_the_feeds_read_only_their_newest_entries(db: Database,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Publishing loads the newest ``limit`` items of everything and of each theme (ties at
    the limit included), never every stored item."""
    stored = []
    for n in range(600):
        themes = ("culture",) if n % 50 == 0 else ("cooperation",)
        published = datetime(2019, 3, 1, tzinfo=UTC) + timedelta(hours=n // 2)  # ties in pairs
        stored.append(news(f"https://example.org/{n}", f"t{n}", themes=themes,
                           published=published))
    stored.append(news("https://example.org/later", "seen later", published=NOW,
                       themes=("culture",)))
    with db.transaction() as c:
        items.upsert_items(c, stored[:-1], NOW)
        items.upsert_items(c, stored[-1:], NOW + timedelta(days=1))
    loaded = 0
    real = items.row_to_item

    def counting(row: object) -> Item:
        nonlocal loaded
        loaded += 1
        return real(row)  # type: ignore[arg-type]

    monkeypatch.setattr(feed_items, "row_to_item", counting)
    with db.transaction() as c:
        chosen = feed_items.newest_items_per_feed(c, NOW, 10, ("cooperation", "culture"))
    keys = {i.key for i in chosen}
    everything = sorted(stored[:-1], key=lambda i: i.published, reverse=True)
    for theme in (None, "cooperation", "culture"):
        of_feed = [i for i in everything if theme is None or theme in i.themes]
        tenth = of_feed[9].published
        assert {i.key for i in of_feed if i.published >= tenth} <= keys, theme
    assert "https://example.org/later" not in keys, "not seen by then: not published yet"
    assert loaded == len(chosen) <= 3 * 10 + 3


def test_run_outcomes_are_stored_as_their_text_and_read_back_as_outcomes(db: Database) -> None:
    from digest.store import runs
    from digest.store.schema import job_runs

    now = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
    with db.transaction() as connection:
        run_id = runs.start(connection, "housekeeping", now)
        runs.finish(connection, run_id, now, runs.FAILED, "feeds: disk full")
        runs.record(connection, "digest:weekly", now, runs.MISSED)
        stored = dict(connection.execute(select(job_runs.c.job_id, job_runs.c.outcome)).all())
        last = runs.last_runs(connection)
    assert stored == {"housekeeping": "failed", "digest:weekly": "missed"}
    assert last["housekeeping"][0].outcome is runs.RunOutcome.FAILED
    assert last["digest:weekly"][0].outcome is runs.RunOutcome.MISSED


def test_an_item_dated_in_the_future_is_shown_as_of_when_it_was_seen(db: Database) -> None:
    """A source's typo (2089 for 2019) must not keep an item on top of every feed for
    seventy years: the feeds date it no later than when it was first seen."""
    misdated = news("https://example.org/misdated", "misdated",
                    published=datetime(2089, 3, 16, tzinfo=UTC))
    fresh = news("https://example.org/fresh", "fresh", published=NOW - timedelta(hours=1))
    with db.transaction() as c:
        items.upsert_items(c, [misdated], NOW - timedelta(days=2))
        items.upsert_items(c, [fresh], NOW)
        newest = feed_items.newest_items_per_feed(c, NOW, 1, ())
        both = feed_items.newest_items_per_feed(c, NOW, 2, ())
    assert [i.key for i in newest] == ["https://example.org/fresh"]
    assert [i.key for i in both] == ["https://example.org/fresh", "https://example.org/misdated"]
