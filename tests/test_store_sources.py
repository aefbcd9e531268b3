"""Sources' health and state in the store, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from digest.source_state import SourceState
from digest.store import Database, sources

NOW = datetime(2019, 3, 18, 7, tzinfo=UTC)
URL = "https://example.org/feed"


def test_health_counts_failures_and_keeps_items_seen_when_unchanged(db: Database) -> None:
    later = NOW + timedelta(hours=1)
    with db.transaction() as c:
        sources.record(c, "news", URL, NOW, None, 12)
        sources.record(c, "news", URL, later, "timed out", None)
        sources.record(c, "news", URL, later, "timed out", None)
    with db.transaction() as c:
        (row,) = sources.health(c)
    assert (row.last_success, row.last_attempt, row.consecutive_failures, row.items_seen,
            row.last_error) == (NOW, later, 2, 12, "timed out")
    with db.transaction() as c:
        sources.record(c, "news", URL, later, None, None)  # a 304: the count stands
        (row,) = sources.health(c)
    assert (row.consecutive_failures, row.items_seen, row.last_error) == (0, 12, None)


def test_state_is_saved_replaced_and_enabled_again(db: Database) -> None:
    state = SourceState(location=URL, url="https://example.org/new", etag='"v1"',
                        last_modified="Mon, 18 Mar 2019 08:00:00 GMT")
    with db.transaction() as c:
        sources.record(c, "news", URL, NOW, None, 3)
        sources.save_state(c, "news", state, NOW)
        assert sources.states(c) == {"news": state}
        gone = SourceState(location=URL, disabled="HTTP 410 Gone (on 2019-03-18)")
        sources.save_state(c, "news", gone, NOW)
        (row,) = sources.health(c)
    assert row.state == gone
    with db.transaction() as c:
        assert sources.enable(c, "news", NOW)
        assert sources.states(c) == {"news": SourceState(location=URL)}
        assert not sources.enable(c, "other", NOW)
