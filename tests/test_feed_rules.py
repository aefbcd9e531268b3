"""Every feed the sample publishes, checked with the W3C feed validator's rules.

The W3C validator (validator.w3.org/feed) is not a library a test can run, so its main
rules are written here: for Atom, RFC 4287 (one feed id, title and updated; an author for
the feed or for each entry; a self link that is the feed's own URL; entry ids unique and
absolute IRIs; RFC 3339 dates; an entry with content or an alternate link; escaped HTML
that parses; enclosures with a type and a length), for RSS 2.0 the RSS Advisory Board's
specification (channel title, link and description; RFC 822 dates with four-digit years;
unique guids, permalinks being URLs; enclosures with url, length and type; an atom:link
rel=self). ``feedparser`` must read each one without complaint (``bozo`` 0). The checker
is shown to catch each broken rule on a feed made wrong on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import feedparser
import pytest

from tests.conftest import approve_sample_bulletin, run_digest
from tests.test_web_safety import SECRET, _new_project

ATOM_NS = "http://www.w3.org/2005/Atom"
A = f"{{{ATOM_NS}}}"
FEEDS_URL = "https://forum.example.org/digest/feeds/"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
RFC822 = re.compile(r"^(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} "
                    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                    r"\d{2}:\d{2}(:\d{2})? ([+-]\d{4}|GMT|UT|[ECMP][SD]T)$")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
FEED_TYPES = {".atom": "application/atom+xml", ".rss": "application/rss+xml"}


# ---------------------------------------------------------------- the rules


class _Balance(HTMLParser):
    """Whether an HTML fragment's elements close in order (void elements need no end)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.problems.append("holds a <script>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.problems.append(f"<{tag}/> is not an HTML void element")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1] if self.open else 'nothing'}")
        else:
            self.open.pop()


def html_problems(fragment: str) -> list[str]:
    """What is wrong with an escaped HTML fragment once unescaped (as a reader shows it)."""
    parser = _Balance()
    parser.feed(fragment)
    parser.close()
    return parser.problems + [f"<{tag}> is never closed" for tag in parser.open]


def absolute_iri(value: str) -> bool:
    """An IRI with a scheme (``https://...``, ``urn:...``, ``tag:...``), as ids must be."""
    parts = urlsplit(value)
    return bool(parts.scheme) and (parts.scheme not in ("http", "https") or bool(parts.netloc)) \
        and " " not in value


def _one(parent: ElementTree.Element, tag: str, where: str, problems: list[str]) -> str | None:
    found = parent.findall(tag)
    name = tag.removeprefix(A)
    if len(found) != 1:
        problems.append(f"{where}: {len(found)} <{name}> elements, expected exactly one")
        return None
    return found[0].text or ""


def _date(value: str | None, where: str, problems: list[str]) -> None:
    if value is not None and not RFC3339.match(value):
        problems.append(f"{where}: {value!r} is not an RFC 3339 date-time")


def _text_construct(element: ElementTree.Element, where: str, problems: list[str]) -> None:
    kind = element.get("type", "text")
    if kind not in ("text", "html", "xhtml") and "/" not in kind:
        problems.append(f"{where}: type {kind!r} is not text, html, xhtml or a media type")
    if kind == "html":
        if len(element):
            problems.append(f"{where}: type html holds elements; HTML must be escaped")
        problems += [f"{where}: {p}" for p in html_problems(element.text or "")]
    if kind == "xhtml" and element.find("{http://www.w3.org/1999/xhtml}div") is None:
        problems.append(f"{where}: type xhtml must hold one xhtml:div")


def _links(parent: ElementTree.Element, where: str, problems: list[str]) -> list[dict[str, str]]:
    links = [dict(link.attrib) for link in parent.findall(f"{A}link")]
    for link in links:
        if not link.get("href"):
            problems.append(f"{where}: a link without href")
        if link.get("rel") == "enclosure":
            if not link.get("type"):
                problems.append(f"{where}: an enclosure without type")
            if not (link.get("length") or "").isdigit() or int(link["length"]) <= 0:
                problems.append(f"{where}: an enclosure without a positive length")
    alternates = [(link.get("type"), link.get("hreflang")) for link in links
                  if link.get("rel", "alternate") == "alternate"]
    if len(alternates) != len(set(alternates)):
        problems.append(f"{where}: two alternate links of the same type and hreflang")
    return links


def atom_problems(data: bytes, url: str) -> list[str]:
    """RFC 4287's rules (those the W3C validator reports as errors) on one Atom feed."""
    problems: list[str] = []
    root = ElementTree.fromstring(data)
    if root.tag != f"{A}feed":
        return [f"the root is {root.tag}, not atom:feed"]
    feed_id = _one(root, f"{A}id", "feed", problems)
    if feed_id is not None and not absolute_iri(feed_id):
        problems.append(f"feed: id {feed_id!r} is not an absolute IRI")
    _one(root, f"{A}title", "feed", problems)
    _date(_one(root, f"{A}updated", "feed", problems), "feed updated", problems)
    links = _links(root, "feed", problems)
    selves = [link for link in links if link.get("rel") == "self"]
    if [link.get("href") for link in selves] != [url]:
        problems.append(f"feed: rel=self links {[link.get('href') for link in selves]}, "
                        f"expected one to {url}")
    elif selves[0].get("type") != "application/atom+xml":
        problems.append("feed: the self link's type is not application/atom+xml")
    feed_author = any((a.findtext(f"{A}name") or "").strip() for a in root.findall(f"{A}author"))
    seen: set[str] = set()
    for position, entry in enumerate(root.findall(f"{A}entry")):
        where = f"entry {position + 1}"
        entry_id = _one(entry, f"{A}id", where, problems)
        if entry_id is not None:
            if not absolute_iri(entry_id):
                problems.append(f"{where}: id {entry_id!r} is not an absolute IRI")
            if entry_id in seen:
                problems.append(f"{where}: id {entry_id!r} is used twice")
            seen.add(entry_id)
        _one(entry, f"{A}title", where, problems)
        _date(_one(entry, f"{A}updated", where, problems), f"{where} updated", problems)
        for published in entry.findall(f"{A}published"):
            _date(published.text, f"{where} published", problems)
        entry_links = _links(entry, where, problems)
        content = entry.findall(f"{A}content")
        alternate = any(link.get("rel", "alternate") == "alternate" for link in entry_links)
        if len(content) > 1:
            problems.append(f"{where}: {len(content)} <content> elements")
        if not content and not alternate:
            problems.append(f"{where}: neither content nor an alternate link")
        for construct in (*content, *entry.findall(f"{A}summary"), *entry.findall(f"{A}title")):
            _text_construct(construct, f"{where} {construct.tag.removeprefix(A)}", problems)
        if not feed_author and not entry.findall(f"{A}author"):
            problems.append(f"{where}: no author, and the feed has none")
        for category in entry.findall(f"{A}category"):
            if not category.get("term"):
                problems.append(f"{where}: a category without term")
    return problems


def _rfc822(value: str | None, where: str, problems: list[str]) -> None:
    if value is None:
        return
    if not RFC822.match(value):
        problems.append(f"{where}: {value!r} is not an RFC 822 date with a four-digit year")
        return
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError):
        problems.append(f"{where}: {value!r} is not a date")


def rss_problems(data: bytes, url: str) -> list[str]:
    """RSS 2.0's rules (those the W3C validator reports as errors) on one RSS feed."""
    problems: list[str] = []
    root = ElementTree.fromstring(data)
    if root.tag != "rss" or root.get("version") != "2.0":
        return ["the root is not <rss version=\"2.0\">"]
    channels = root.findall("channel")
    if len(channels) != 1:
        return [f"{len(channels)} channels, expected one"]
    channel = channels[0]
    for required in ("title", "link", "description"):
        if not (channel.findtext(required) or "").strip():
            problems.append(f"channel: no {required}")
    if not absolute_iri(channel.findtext("link") or ""):
        problems.append("channel: link is not an absolute URL")
    for name in ("pubDate", "lastBuildDate"):
        _rfc822(channel.findtext(name), f"channel {name}", problems)
    selves = [link for link in channel.findall(f"{A}link") if link.get("rel") == "self"]
    if [link.get("href") for link in selves] != [url]:
        problems.append(f"channel: atom:link rel=self {[s.get('href') for s in selves]}, "
                        f"expected one to {url}")
    elif selves[0].get("type") != "application/rss+xml":
        problems.append("channel: the self link's type is not application/rss+xml")
    guids: set[str] = set()
    for position, item in enumerate(channel.findall("item")):
        where = f"item {position + 1}"
        if not item.findtext("title") and not item.findtext("description"):
            problems.append(f"{where}: neither title nor description")
        guid = item.find("guid")
        if guid is None or not (guid.text or "").strip():
            problems.append(f"{where}: no guid")
        else:
            if guid.get("isPermaLink", "true") == "true" and not absolute_iri(guid.text or ""):
                problems.append(f"{where}: a permalink guid that is not a URL")
            if guid.text in guids:
                problems.append(f"{where}: guid {guid.text!r} is used twice")
            guids.add(guid.text or "")
        _rfc822(item.findtext("pubDate"), f"{where} pubDate", problems)
        link = item.findtext("link")
        if link is not None and not absolute_iri(link):
            problems.append(f"{where}: link {link!r} is not an absolute URL")
        for enclosure in item.findall("enclosure"):
            if not absolute_iri(enclosure.get("url", "")):
                problems.append(f"{where}: an enclosure without an absolute url")
            if not enclosure.get("length", "").isdigit():
                problems.append(f"{where}: an enclosure without a length in bytes")
            if "/" not in enclosure.get("type", ""):
                problems.append(f"{where}: an enclosure without a media type")
        if len(item.findall("enclosure")) > 1:
            problems.append(f"{where}: more than one enclosure")
        for category in item.findall("category"):
            if not (category.text or "").strip():
                problems.append(f"{where}: an empty category")
        for html in (item.findtext("description"),
                     item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")):
            if html:
                problems += [f"{where}: {p}" for p in html_problems(html)]
    return problems


def feed_problems(path: Path) -> list[str]:
    """Every broken rule of one published feed, by its file name's format."""
    url = FEEDS_URL + path.name
    data = path.read_bytes()
    return atom_problems(data, url) if path.suffix == ".atom" else rss_problems(data, url)


# ---------------------------------------------------------------- the sample's feeds


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every feed of the sample after one run, the approved bulletin (with its PDF) in."""
    project = _new_project(tmp_path_factory.mktemp("feed-rules"))
    approve_sample_bulletin(project)
    made = run_digest(project, "run", "--once", env={"DIGEST_SECRET_KEY": SECRET})
    assert made.returncode == 0, made.stdout + made.stderr
    found = sorted(p for p in (project / "feeds").iterdir() if p.suffix in FEED_TYPES)
    return found


def test_the_sample_publishes_every_feed(feeds: list[Path]) -> None:
    names = {path.name for path in feeds}
    assert {"all.atom", "all.rss", "bulletins.atom", "bulletins.rss", "cooperation.atom",
            "cooperation.rss"} <= names
    assert len(names) == 2 * (1 + 5 + 1)  # everything, five themes, bulletins


def each_feed() -> Iterator[str]:
    yield from ("all", "bulletins", "cooperation", "knowledge-society", "economy",
                "culture", "environment")


@pytest.mark.parametrize("stem", list(each_feed()))
@pytest.mark.parametrize("suffix", [".atom", ".rss"])
def test_every_feed_keeps_the_validator_rules(feeds: list[Path], stem: str,
                                              suffix: str) -> None:
    path = next(p for p in feeds if p.name == stem + suffix)
    assert feed_problems(path) == []
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if suffix == ".atom" else "rss20")


def test_the_bulletin_entries_carry_their_pdf(feeds: list[Path]) -> None:
    """The one enclosure the sample has is checked, not passed over for lack of one."""
    atom = ElementTree.parse(next(p for p in feeds if p.name == "bulletins.atom")).getroot()
    enclosures = [link for link in atom.iter(f"{A}link") if link.get("rel") == "enclosure"]
    assert [link.get("type") for link in enclosures] == ["application/pdf"]
    assert int(enclosures[0].get("length", "0")) > 1000
    rss = ElementTree.parse(next(p for p in feeds if p.name == "bulletins.rss")).getroot()
    enclosure = rss.find("channel/item/enclosure")
    assert enclosure is not None and enclosure.get("length") == enclosures[0].get("length")


def test_the_opml_list_names_each_published_feed_once(feeds: list[Path]) -> None:
    """OPML 2.0: every outline of a feed has type rss, text and an xmlUrl; each names a
    feed that is published, and the list holds each feed once (in Atom)."""
    opml = ElementTree.parse(feeds[0].parent / "index.opml").getroot()
    assert opml.get("version") == "2.0" and (opml.findtext("head/title") or "").strip()
    problems: list[str] = []
    _rfc822(opml.findtext("head/dateModified"), "dateModified", problems)
    assert problems == []
    outlines = opml.findall("body/outline")
    urls = [outline.get("xmlUrl", "") for outline in outlines]
    assert all(o.get("type") == "rss" and o.get("text") for o in outlines)
    assert len(urls) == len(set(urls)) == 7
    published = {FEEDS_URL + path.name for path in feeds}
    assert set(urls) <= published and all(url.endswith(".atom") for url in urls)


# ---------------------------------------------------------------- the rules can fail

GOOD_ATOM = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="{ATOM_NS}">
  <id>{FEEDS_URL}all.atom</id><title>T</title><updated>2019-03-18T07:00:00+00:00</updated>
  <author><name>Forum</name></author>
  <link rel="self" type="application/atom+xml" href="{FEEDS_URL}all.atom"/>
  <entry><id>urn:x:1</id><title>One</title><updated>2019-03-18T07:00:00Z</updated>
    <link href="https://example.org/1"/>
    <content type="html">&lt;p&gt;One &lt;br&gt;&lt;a href="https://example.org"&gt;x&lt;/a&gt;&lt;/p&gt;</content>
    <link rel="enclosure" type="application/pdf" length="1234" href="https://example.org/1.pdf"/>
  </entry>
</feed>"""

GOOD_RSS = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="{ATOM_NS}"><channel>
  <title>T</title><link>https://forum.example.org/digest/</link><description>D</description>
  <atom:link rel="self" type="application/rss+xml" href="{FEEDS_URL}all.rss"/>
  <lastBuildDate>Mon, 18 Mar 2019 07:00:00 +0000</lastBuildDate>
  <item><title>One</title><link>https://example.org/1</link>
    <guid isPermaLink="false">urn:x:1</guid><pubDate>Mon, 18 Mar 2019 07:00:00 +0000</pubDate>
    <enclosure url="https://example.org/1.pdf" length="1234" type="application/pdf"/>
  </item>
</channel></rss>"""


def test_well_made_feeds_pass() -> None:
    assert atom_problems(GOOD_ATOM.encode(), FEEDS_URL + "all.atom") == []
    assert rss_problems(GOOD_RSS.encode(), FEEDS_URL + "all.rss") == []


@pytest.mark.parametrize(("change", "expected"), [
    (("<id>urn:x:1</id>", "<id>/relative/1</id>"), "is not an absolute IRI"),
    (("2019-03-18T07:00:00Z", "18 March 2019"), "is not an RFC 3339 date-time"),
    ((f'href="{FEEDS_URL}all.atom"/>', 'href="https://elsewhere.example/all.atom"/>'),
     "rel=self links"),
    (("<author><name>Forum</name></author>", ""), "no author, and the feed has none"),
    (('length="1234" ', ""), "an enclosure without a positive length"),
    (("&lt;/a&gt;&lt;/p&gt;", "&lt;/p&gt;"), "</p> closes a"),
    (("<title>T</title>", "<title>T</title><title>U</title>"), "2 <title> elements"),
    (("</entry>", "</entry><entry><id>urn:x:1</id><title>Two</title>"
      "<updated>2019-03-18T07:00:00Z</updated><link href='https://example.org/2'/></entry>"),
     "is used twice"),
    (('<link href="https://example.org/1"/>', ""), None),  # content alone is enough
])
def test_each_atom_rule_catches_its_fault(change: tuple[str, str], expected: str | None) -> None:
    broken = GOOD_ATOM.replace(*change)
    assert broken != GOOD_ATOM
    problems = atom_problems(broken.encode(), FEEDS_URL + "all.atom")
    if expected is None:
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(("change", "expected"), [
    (("<description>D</description>", ""), "channel: no description"),
    (("Mon, 18 Mar 2019 07:00:00 +0000</pubDate>", "2019-03-18T07:00:00Z</pubDate>"),
     "is not an RFC 822 date"),
    (("Mon, 18 Mar 2019 07:00:00 +0000</lastBuildDate>", "Mon, 18 Mar 19 07:00:00 +0000"
      "</lastBuildDate>"), "four-digit year"),
    (('<guid isPermaLink="false">urn:x:1</guid>', ""), "no guid"),
    (('<guid isPermaLink="false">urn:x:1</guid>', "<guid>not a url</guid>"),
     "a permalink guid that is not a URL"),
    ((' type="application/pdf"/>', "/>"), "an enclosure without a media type"),
    (('length="1234" ', 'length="big" '), "an enclosure without a length in bytes"),
    ((f'<atom:link rel="self" type="application/rss+xml" href="{FEEDS_URL}all.rss"/>', ""),
     "atom:link rel=self"),
])
def test_each_rss_rule_catches_its_fault(change: tuple[str, str], expected: str) -> None:
    broken = GOOD_RSS.replace(*change)
    assert broken != GOOD_RSS
    problems = rss_problems(broken.encode(), FEEDS_URL + "all.rss")
    assert any(expected in problem for problem in problems), problems
