"""Sources over HTTP against a real server on 127.0.0.1 that misbehaves on purpose.

Every fault has its test; none asserts a duration. Back-off is asked of a recording sleep,
so retries cost no waiting, and timeouts are made short in the test's settings.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest.clock import FixedClock
from digest.config import SourceSettings
from digest.errors import SourceError
from digest.models import Item
from digest.source_state import SourceState
from digest.sources import Poll, collect_source, poll_source, poll_sources
from digest.sources.policy import FetchPolicy
from digest.testing import build_settings
from tests.feed_server import (
    Feed,
    FeedServer,
    Recorder,
    announces,
    body,
    drip,
    endless,
    feed_server,
    gzip_bomb,
    redirect,
    serve,
    sleep_then,
    status,
    truncated,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
CLOCK = FixedClock(datetime(2019, 3, 18, 8, 0, tzinfo=UTC))
AGENT = "forum-digest/0.1.0 (+https://forum.example.org/digest)"
RELATIVE_RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Relative</title><link>/</link><description>d</description>
<item><title>One</title><link>items/1</link><description>&lt;a href="more"&gt;more&lt;/a&gt;
</description></item></channel></rss>"""


def rss(*titles: str) -> bytes:
    entries = "".join(f"<item><title>{t}</title><link>https://example.org/{i}</link>"
                      f"<guid>https://example.org/{i}</guid></item>"
                      for i, t in enumerate(titles))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>T</title><link>https://example.org/</link><description>d</description>"
            f"{entries}</channel></rss>").encode()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


THEMES = {"cooperation": "Cooperation", "knowledge-society": "Knowledge society"}
SETTINGS = build_settings(FIXTURES, themes=THEMES)


def source(url: str, type_: str = "feed") -> SourceSettings:
    return SourceSettings.model_validate({"id": "remote", "type": type_, "url": url})


def poll(url: str, state: SourceState | None = None, sleep: Recorder | None = None,
         type_: str = "feed", **collect: Any) -> Poll:
    configured = build_settings(FIXTURES, themes=THEMES, collect=collect)
    policy = FetchPolicy.from_settings(configured, sleep=sleep or Recorder())
    return poll_source(source(url, type_), configured, CLOCK, state, policy=policy)


def items_of(result: Poll) -> list[Item]:
    assert result.error is None, result.error
    assert result.items is not None
    return list(result.items)


# ---------------------------------------------------------------- reading, politely


def test_feed_over_http_with_a_clear_user_agent(server: FeedServer) -> None:
    server.feed("/news.atom", (FIXTURES / "news.atom").read_bytes(),
                media_type="application/atom+xml")
    items = items_of(poll(server.url("/news.atom")))
    assert [item.key for item in items] == [
        "https://www.example.org/news/turin-citizens-panel", "tag:example.org,2019:wg-ssi-glasgow"]
    assert items[0].themes == ("cooperation", "knowledge-society")
    (seen,) = server.asked("/news.atom")
    assert seen.headers["User-Agent"] == AGENT
    assert "gzip" in seen.headers["Accept-Encoding"]


def test_calendar_over_http(server: FeedServer) -> None:
    server.feed("/events.ics", (FIXTURES / "events.ics").read_bytes(), media_type="text/calendar")
    items = items_of(poll(server.url("/events.ics"), type_="ical"))
    assert len(items) == 6  # four single events, one cancelled, three weekly occurrences
    assert items[0].event is not None and items[0].event.end == date(2019, 3, 27)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_feed(server: FeedServer, encoding: str) -> None:
    server.feed("/z.rss", rss("Compressed"), encoding=encoding)
    assert [i.title for i in items_of(poll(server.url("/z.rss")))] == ["Compressed"]


def test_relative_links_resolve_against_the_final_url(server: FeedServer) -> None:
    server.feed("/feeds/relative.rss", RELATIVE_RSS)
    server.route("/moved", redirect(302, "/feeds/relative.rss"))
    (item,) = items_of(poll(server.url("/moved")))
    assert item.link == server.url("/feeds/items/1")
    assert f'href="{server.url("/feeds/more")}"' in item.summary_html


def test_json_feed_over_http(server: FeedServer) -> None:
    server.route("/feed.json", body(b"""{"version": "https://jsonfeed.org/version/1.1",
        "title": "J", "items": [{"id": "1", "url": "/posts/1", "title": "Hello",
        "content_html": "<p>Hi <a href='more'>x</a></p>", "tags": ["cooperation"],
        "date_published": "2019-03-15T10:00:00+01:00"}]}""", "application/feed+json"))
    (item,) = items_of(poll(server.url("/feed.json")))
    assert item.link == server.url("/posts/1") == item.key
    assert f'href="{server.url("/more")}"' in item.summary_html
    assert item.themes == ("cooperation",)
    assert item.published == datetime(2019, 3, 15, 9, tzinfo=UTC)


def test_an_injected_client_is_used(server: FeedServer) -> None:
    server.feed("/r.rss", RELATIVE_RSS)
    with httpx.Client(timeout=5, headers={"X-Test": "1"}) as client:
        (item,) = collect_source(source(server.url("/r.rss")), SETTINGS, CLOCK, client)
    assert item.title == "One"
    assert server.asked("/r.rss")[0].headers["X-Test"] == "1"


# ---------------------------------------------------------------- conditional GET


def test_an_unchanged_feed_costs_one_304(server: FeedServer) -> None:
    server.feed("/c.rss", rss("One", "Two"))
    first = poll(server.url("/c.rss"))
    assert len(items_of(first)) == 2
    assert first.state.etag == '"v1"'
    assert first.state.last_modified == "Mon, 18 Mar 2019 08:00:00 GMT"
    again = poll(server.url("/c.rss"), first.state)
    assert again.error is None and again.items is None and again.note == "not modified"
    assert again.state == first.state
    conditional = server.asked("/c.rss")[1].headers
    assert conditional["If-None-Match"] == '"v1"'
    assert conditional["If-Modified-Since"] == "Mon, 18 Mar 2019 08:00:00 GMT"


def test_last_modified_alone_is_enough(server: FeedServer) -> None:
    server.feed("/lm.rss", rss("One"), etag=None)
    first = poll(server.url("/lm.rss"))
    assert first.state.etag is None and first.state.last_modified
    assert poll(server.url("/lm.rss"), first.state).note == "not modified"


def test_a_changed_feed_is_read_again_with_its_new_validators(server: FeedServer) -> None:
    feed = server.feed("/v.rss", rss("One"))
    first = poll(server.url("/v.rss"))
    feed.body, feed.etag = rss("One", "Two"), '"v2"'
    second = poll(server.url("/v.rss"), first.state)
    assert [i.title for i in items_of(second)] == ["One", "Two"]
    assert second.state.etag == '"v2"'


def test_validators_of_another_location_are_not_sent(server: FeedServer) -> None:
    server.feed("/a.rss", rss("One"))
    stale = SourceState(location="https://elsewhere.example.org/feed", etag='"v1"')
    assert items_of(poll(server.url("/a.rss"), stale))
    assert "If-None-Match" not in server.asked("/a.rss")[0].headers


# ---------------------------------------------------------------- status codes


def test_5xx_then_recovery_is_retried_with_back_off(server: FeedServer) -> None:
    server.feed("/ok.rss", rss("Back"))
    server.script("/flaky", status(500), status(503, Retry_After="7"),
                  lambda handler: server.routes["/ok.rss"](handler))
    waits = Recorder()
    result = poll(server.url("/flaky"), sleep=waits)
    assert [i.title for i in items_of(result)] == ["Back"]
    assert waits.waits == [2.0, 7.0]  # the back-off, then the server's Retry-After
    assert len(server.asked("/flaky")) == 3


def test_5xx_that_persists_fails_after_the_retries(server: FeedServer) -> None:
    server.route("/error", status(500))
    waits = Recorder()
    result = poll(server.url("/error"), sleep=waits, retries=2, backoff="1s")
    assert result.items is None
    assert result.error == (f"source 'remote' ({server.url('/error')}): HTTP 500 Internal "
                            f"Server Error from {server.url('/error')} (gave up after 3 tries)")
    assert waits.waits == [1.0, 2.0]


def test_a_retry_past_the_deadline_is_not_waited_for(server: FeedServer) -> None:
    server.route("/busy", status(503, Retry_After="120"))
    waits = Recorder()
    result = poll(server.url("/busy"), sleep=waits, deadline="60s")
    assert result.error is not None and "would pass the 60s deadline" in result.error
    assert waits.waits == []


def test_410_disables_the_source_with_a_message(server: FeedServer) -> None:
    server.route("/gone", status(410))
    result = poll(server.url("/gone"))
    assert result.error is not None
    assert "HTTP 410 Gone" in result.error and "the source is disabled" in result.error
    assert result.state.disabled is not None and "(on 2019-03-18)" in result.state.disabled
    later = poll(server.url("/gone"), result.state)
    assert later.skipped and later.error is None and later.items is None
    assert later.note is not None and "digest sources enable remote" in later.note
    assert len(server.asked("/gone")) == 1  # a disabled source is not asked again


@pytest.mark.parametrize("code", [404, 403])
def test_other_client_errors_fail_without_retry(server: FeedServer, code: int) -> None:
    server.route("/no", status(code))
    waits = Recorder()
    result = poll(server.url("/no"), sleep=waits)
    assert result.error is not None and f"HTTP {code}" in result.error
    assert waits.waits == [] and result.state.disabled is None


# ---------------------------------------------------------------- redirects


@pytest.mark.parametrize("code", [301, 308])
def test_a_permanent_redirect_updates_the_stored_url(server: FeedServer, code: int) -> None:
    server.feed("/new.rss", rss("Moved"))
    server.route("/old.rss", redirect(code, "/new.rss"))
    first = poll(server.url("/old.rss"))
    assert [i.title for i in items_of(first)] == ["Moved"]
    assert first.state.url == server.url("/new.rss")
    assert first.note is not None and "moved permanently to" in first.note
    again = poll(server.url("/old.rss"), first.state)
    assert again.note == "not modified"
    assert len(server.asked("/old.rss")) == 1  # the second poll went straight to the new URL


def test_a_temporary_redirect_keeps_the_url(server: FeedServer) -> None:
    server.feed("/today.rss", rss("Here today"))
    server.route("/feed", redirect(302, "/today.rss"))
    result = poll(server.url("/feed"))
    assert items_of(result) and result.state.url is None and result.note is None


def test_a_permanent_then_temporary_chain_stores_the_permanent_part(
    server: FeedServer,
) -> None:
    server.feed("/final.rss", rss("Final"))
    server.route("/a", redirect(301, "/b"))
    server.route("/b", redirect(307, "/final.rss"))
    assert poll(server.url("/a")).state.url == server.url("/b")


def test_a_redirect_loop_stops(server: FeedServer) -> None:
    server.route("/ping", redirect(302, "/pong"))
    server.route("/pong", redirect(301, "/ping"))
    result = poll(server.url("/ping"))
    assert result.error is not None and "redirect loop" in result.error
    assert len(server.requests) == 2


def test_endless_redirects_stop_at_the_limit(server: FeedServer) -> None:
    for hop in range(10):
        server.route(f"/hop{hop}", redirect(302, f"/hop{hop + 1}"))
    result = poll(server.url("/hop0"), max_redirects=3)
    assert result.error is not None and "more than 3 redirects" in result.error
    assert len(server.requests) == 4


def test_a_redirect_to_another_scheme_is_refused(server: FeedServer) -> None:
    server.route("/file", redirect(302, "file:///etc/passwd"))
    result = poll(server.url("/file"))
    assert result.error is not None and "not http(s)" in result.error


# ---------------------------------------------------------------- slow, cut, big


def test_a_server_slower_than_the_read_timeout_fails_after_retries(server: FeedServer) -> None:
    server.route("/slow", sleep_then(3, status(200)))
    waits = Recorder()
    result = poll(server.url("/slow"), sleep=waits, timeout="0.2s", retries=1, backoff="1s")
    assert result.error is not None and "timed out reading" in result.error
    assert "gave up after 2 tries" in result.error
    assert waits.waits == [1.0]


def test_a_dripping_server_is_cut_off_by_the_deadline(server: FeedServer) -> None:
    server.route("/drip", drip(total_seconds=10))
    result = poll(server.url("/drip"), timeout="2s", deadline="0.5s")
    assert result.error is not None and "too slow: not read within the 0.5s deadline" in (
        result.error)


def test_a_truncated_body_is_retried_then_fails(server: FeedServer) -> None:
    server.route("/cut", truncated(rss("One", "Two", "Three")))
    waits = Recorder()
    result = poll(server.url("/cut"), sleep=waits)
    assert result.error is not None and "was cut short" in result.error
    assert len(waits.waits) == 2 and len(server.asked("/cut")) == 3


def test_a_truncated_body_that_recovers(server: FeedServer) -> None:
    server.feed("/whole.rss", rss("Whole"))
    server.script("/cut-once", truncated(rss("Whole")), serve(Feed(rss("Whole"))))
    assert [i.title for i in items_of(poll(server.url("/cut-once")))] == ["Whole"]


def test_an_announced_oversized_body_is_refused_unread(server: FeedServer) -> None:
    server.route("/huge", announces(2 * 1024 * 1024))
    result = poll(server.url("/huge"), max_bytes="1MB")
    assert result.error is not None
    assert "announces 2097152 bytes, over the 1048576 byte limit" in result.error


def test_an_endless_body_stops_at_the_cap(server: FeedServer) -> None:
    server.route("/endless", endless())
    result = poll(server.url("/endless"), max_bytes="1MB")
    assert result.error is not None and "sent more than the 1048576 byte limit" in result.error


def test_a_gzip_bomb_stops_at_the_cap_after_decompression(server: FeedServer) -> None:
    server.route("/bomb.rss", gzip_bomb(inflated=16 * 1024 * 1024))  # ~16 KB on the wire
    result = poll(server.url("/bomb.rss"), max_bytes="1MB")
    assert result.error is not None
    assert "inflates to more than the 1048576 byte limit" in result.error


def test_a_broken_gzip_body_is_an_error(server: FeedServer) -> None:
    def broken(handler: Any) -> None:
        handler.send_plain(200, b"not gzip at all", "application/rss+xml",
                           Content_Encoding="gzip")

    server.route("/broken-gzip", broken)
    result = poll(server.url("/broken-gzip"))
    assert result.error is not None and "broken gzip body" in result.error


def test_connection_refused_fails_at_once() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no server
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    waits = Recorder()
    result = poll(f"http://127.0.0.1:{port}/feed.atom", sleep=waits)
    assert result.error is not None and "cannot read" in result.error
    assert "ConnectError" in result.error and waits.waits == []


def test_an_invalid_url_is_an_error() -> None:
    result = poll("http://[::1/feed")
    assert result.error is not None and result.error.startswith("source 'remote'")


# ---------------------------------------------------------------- hostile documents


def billion_laughs() -> bytes:
    declarations = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)]
    return ('<?xml version="1.0"?><!DOCTYPE rss [' + "".join(declarations) + "]>"
            '<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title>'
            "<link>https://example.org/1</link></item></channel></rss>").encode()


def quadratic_blowup() -> bytes:
    """One 50 KB entity referenced 50 000 times: 2.5 GB if anything expands it."""
    return ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + "A" * 50_000 + '">\n]>\n'
            '<rss version="2.0"><channel><title>t</title><item><title>' + "&a;" * 50_000
            + "</title><link>https://example.org/1</link></item></channel></rss>").encode()


@pytest.mark.parametrize(("document", "title"),
                         [(billion_laughs(), "&lol9;"), (quadratic_blowup(), "&a;&a;&a;")],
                         ids=["billion-laughs", "quadratic-blowup"])
def test_an_entity_bomb_is_neutralised(server: FeedServer, document: bytes, title: str) -> None:
    server.route("/bomb.xml", body(document))
    (item,) = items_of(poll(server.url("/bomb.xml")))  # read, the entities left as text
    assert item.link == "https://example.org/1"
    assert item.title.startswith(title)


def test_entity_declarations_that_cannot_be_cut_out_are_refused(server: FeedServer) -> None:
    tricky = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "]>"><!ENTITY b "&a;&a;">]>'
              b'<rss version="2.0"><channel><item><title>&b;</title></item></channel></rss>')
    server.route("/tricky.xml", body(tricky))
    result = poll(server.url("/tricky.xml"))
    assert result.error is not None and "entity" in result.error


def test_garbage_bytes_are_an_error(server: FeedServer) -> None:
    server.route("/garbage", body((FIXTURES / "garbage.xml").read_bytes()))
    result = poll(server.url("/garbage"))
    assert result.error is not None and "not a readable feed" in result.error


def test_random_bytes_are_an_error(server: FeedServer) -> None:
    server.route("/noise", body(bytes(range(256)) * 64, "application/octet-stream"))
    result = poll(server.url("/noise"))
    assert result.error is not None and result.error.startswith("source 'remote'")


def test_control_characters_and_stray_windows_1252_bytes_are_repaired(
    server: FeedServer,
) -> None:
    document = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                "<title>t</title><item><title>Caf\u00e9\x0c day\x01</title>"
                "<description>It\x0bs fine</description><link>https://example.org/1</link>"
                "</item></channel></rss>").encode() .replace(b"day", b"d\x92ay")
    server.route("/mixed.rss", body(document))
    (item,) = items_of(poll(server.url("/mixed.rss")))
    assert item.title == "Café d\u2019ay"  # UTF-8 kept, the stray 0x92 read as cp1252
    assert item.summary_html == "<p>Its fine</p>"


# ---------------------------------------------------------------- many at once


def test_sources_are_polled_concurrently_within_the_per_host_limit(server: FeedServer) -> None:
    configured = build_settings(FIXTURES, themes=THEMES, collect={"concurrency": 6, "per_host": 2})
    listed = []
    for number in range(8):
        feed = Feed(rss(f"Feed {number}"))
        server.route(f"/f{number}.rss", sleep_then(0.1, feed.serve))
        listed.append(SourceSettings.model_validate(
            {"id": f"f{number}", "type": "feed", "url": server.url(f"/f{number}.rss")}))
    polls = list(poll_sources(listed, configured, CLOCK, {}, sleep=Recorder()))
    assert [p.source_id for p in polls] == [f"f{n}" for n in range(8)]  # the config's order
    assert [items_of(p)[0].title for p in polls] == [f"Feed {n}" for n in range(8)]
    assert server.most_in_flight == 2


def test_one_failing_source_does_not_stop_the_others(server: FeedServer) -> None:
    server.feed("/good.rss", rss("Good"))
    server.route("/bad", status(404))
    listed = [SourceSettings.model_validate({"id": name, "type": "feed", "url": server.url(p)})
              for name, p in (("bad", "/bad"), ("good", "/good.rss"))]
    bad, good = poll_sources(listed, SETTINGS, CLOCK, {}, sleep=Recorder())
    assert bad.error is not None and bad.items is None
    assert good.error is None and [i.title for i in items_of(good)] == ["Good"]


def test_collect_source_raises_the_error(server: FeedServer) -> None:
    server.route("/missing", status(404))
    with pytest.raises(SourceError, match=r"^source 'remote' \(http.*/missing\): HTTP 404"):
        collect_source(source(server.url("/missing")), SETTINGS, CLOCK)


def test_changed_settings_drop_the_validators_so_items_are_filed_again(
    server: FeedServer,
) -> None:
    server.feed("/t.rss", rss("Jobs for tenants"))
    configured = SETTINGS
    first = poll_source(source(server.url("/t.rss")), configured, CLOCK)
    assert items_of(first)[0].themes == ()
    themed = configured.model_copy(update={"themes": {
        **configured.themes,
        "cooperation": configured.themes["cooperation"].model_copy(
            update={"keywords": ["tenants"]})}})
    again = poll_source(source(server.url("/t.rss")), themed, CLOCK, first.state)
    assert items_of(again)[0].themes == ("cooperation",)
    assert "If-None-Match" not in server.asked("/t.rss")[1].headers
    third = poll_source(source(server.url("/t.rss")), themed, CLOCK, again.state)
    assert third.note == "not modified"


def test_an_unchanged_calendar_is_read_again_each_month(server: FeedServer) -> None:
    server.feed("/e.ics", (FIXTURES / "events.ics").read_bytes(), media_type="text/calendar")
    ical = source(server.url("/e.ics"), "ical")
    first = poll_source(ical, SETTINGS, CLOCK)
    same_month = poll_source(ical, SETTINGS, FixedClock(datetime(2019, 3, 30, tzinfo=UTC)),
                             first.state)
    assert same_month.note == "not modified"
    next_month = poll_source(ical, SETTINGS, FixedClock(datetime(2019, 4, 2, tzinfo=UTC)),
                             first.state)
    assert next_month.items is not None and next_month.note is None
    assert "If-None-Match" not in server.asked("/e.ics")[2].headers
