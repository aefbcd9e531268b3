"""The cleaning rules of collected content: sanitising, titles, themes, kinds, identity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from digest.models import Kind, Theme
from digest.sources.clean import (
    ThemeMapper,
    canonical_link,
    identity_key,
    kind_from,
    kind_of,
    plain_title,
    sanitize_html,
    text_to_html,
)

# ---------------------------------------------------------------- sanitize_html

HOSTILE = """
<p onclick="steal()">Hello <script>alert('x')</script><style>p { color: red }</style>
<iframe src="https://evil.example.net/">frame text</iframe>
<img src="https://evil.example.net/x.png" onerror="alert(1)" alt="x">
<a href="javascript:alert(1)">js link</a>
<a href="JaVaScRiPt:alert(1)">mixed case</a>
<a href="data:text/html;base64,PHNjcmlwdD4=">data link</a>
<a href="https://ok.example.org/" target="_blank" rel="opener" style="x">ok link</a>
<object data="x.swf">object text</object><embed src="x.swf">
<form action="https://evil.example.net/"><input name="q"></form>
<svg><script>alert(2)</script></svg>
</p>
"""


def test_sanitize_removes_scripts_handlers_frames_and_bad_schemes() -> None:
    clean = sanitize_html(HOSTILE)
    for gone in ("script", "alert", "style", "color: red", "iframe", "frame text", "onerror",
                 "onclick", "javascript", "JaVaScRiPt", "data:", "object", "embed", "form",
                 "input", "svg", "target", 'rel="opener"'):
        assert gone not in clean, gone
    assert '<a href="https://ok.example.org/" rel="noopener noreferrer">ok link</a>' in clean
    assert '<img src="https://evil.example.net/x.png" alt="x">' in clean
    assert "Hello" in clean


def test_sanitize_keeps_the_small_safe_set() -> None:
    fragment = (
        "<h3>Head</h3><h4>Sub</h4><blockquote><p><strong>s</strong> <em>e</em> <b>b</b> "
        "<i>i</i><br><code>c</code></p></blockquote><pre>p</pre><ul><li>u</li></ul>"
        "<ol><li>o</li></ol>"
        '<img src="https://e.org/i.png" alt="a" width="10" height="20" class="x">'
        '<a href="mailto:forum@example.org" title="Write">mail</a>'
    )
    clean = sanitize_html(fragment)
    for kept in ("<h3>Head</h3>", "<h4>Sub</h4>", "<blockquote>", "<strong>s</strong>",
                 "<em>e</em>", "<b>b</b>", "<i>i</i>", "<br>", "<code>c</code>", "<pre>p</pre>",
                 "<ul><li>u</li></ul>", "<ol><li>o</li></ol>", 'width="10"', 'height="20"',
                 'href="mailto:forum@example.org"', 'title="Write"'):
        assert kept in clean, kept
    assert "class" not in clean


def test_sanitize_strips_other_tags_but_keeps_their_text() -> None:
    clean = sanitize_html('<div><h1>Big</h1><span style="x">text</span><table><tr><td>cell'
                          "</td></tr></table></div>")
    assert clean == "<p>Bigtextcell</p>"


def test_bare_text_and_text_made_html_agree() -> None:
    """An RSS description without a wrapper and an Atom text summary are the same HTML."""
    assert sanitize_html("We are pleased to invite you.") == text_to_html(
        "We are pleased to invite you.")
    assert sanitize_html("<p>One</p><p>Two</p>") == "<p>One</p><p>Two</p>"


def test_sanitize_resolves_relative_urls_against_a_base_only() -> None:
    fragment = '<a href="../report.pdf">r</a><img src="i.png" alt=""><a href="">empty</a>'
    resolved = sanitize_html(fragment, base="https://example.org/news/item/")
    assert 'href="https://example.org/news/report.pdf"' in resolved
    assert 'src="https://example.org/news/item/i.png"' in resolved
    assert "<a rel=\"noopener noreferrer\">empty</a>" in resolved  # not turned into the base
    assert 'href="../report.pdf"' in sanitize_html(fragment)


@pytest.mark.parametrize(("fragment", "expected"), [
    ('<p>A <img src="https://e.org/i.png"></p>', '<p>A <img src="https://e.org/i.png" alt=""></p>'),
    ('<p>A <img src="https://e.org/i.png" alt="A map"></p>',
     '<p>A <img src="https://e.org/i.png" alt="A map"></p>'),
    ('<p>A <img src="data:image/png;base64,AAAA"> b</p>', "<p>A  b</p>"),
    ('<p>A <img alt="gone"></p>', "<p>A </p>"),
    ('<p><a href="https://e.org/a"></a> b</p>', "<p> b</p>"),
    ('<p><a href="https://e.org/a">&nbsp;\u200b<b> </b></a></p>', "<p>&nbsp;\u200b<b> </b></p>"),
    ('<p><a href="https://e.org/a"><img src="https://e.org/i.png"></a></p>',
     '<p><img src="https://e.org/i.png" alt=""></p>'),
    ('<p><a href="https://e.org/a"><img src="https://e.org/i.png" alt=" "></a></p>',
     '<p><img src="https://e.org/i.png" alt=" "></p>'),
    ('<p><a href="https://e.org/a"><img src="https://e.org/i.png" alt="A &gt; map"></a></p>',
     '<p><a href="https://e.org/a" rel="noopener noreferrer"><img src="https://e.org/i.png" '
     'alt="A &gt; map"></a></p>'),
    ('<p><a href="https://e.org/a" title="Agenda"> </a></p>',
     '<p><a href="https://e.org/a" title="Agenda" rel="noopener noreferrer"> </a></p>'),
    ('<p><a href="https://e.org/a"><em>Read</em></a></p>',
     '<p><a href="https://e.org/a" rel="noopener noreferrer"><em>Read</em></a></p>'),
])
def test_images_and_links_always_have_a_name(fragment: str, expected: str) -> None:
    """A feed's image without alt text, or a link with nothing to read, made every email
    and web page of the edition fail WCAG (axe: image-alt, link-name)."""
    assert sanitize_html(fragment) == expected
    assert sanitize_html(expected) == expected  # stable when cleaned again (cut_html)


def test_sanitize_empty() -> None:
    assert sanitize_html("   ") == ""


def test_text_to_html_escapes_and_makes_paragraphs() -> None:
    assert text_to_html("a <b> & c\nnext\n\n second ") == (
        "<p>a &lt;b&gt; &amp; c<br>next</p><p>second</p>"
    )


# ---------------------------------------------------------------- plain_title


def test_title_with_newline_and_tags_becomes_one_plain_line() -> None:
    assert plain_title("Turin <b>panel</b>\n   makes\trecommendations") == (
        "Turin panel makes recommendations"
    )


def test_title_entities_controls_and_bidi_are_handled() -> None:
    assert plain_title("AT&amp;T &eacute;t&eacute; &amp;amp; more") == "AT&T été & more"
    assert plain_title("a\x00b\x07c\u202eevil\u202c\r\nd") == "abcevil d"
    assert plain_title("<script>alert(1)</script>Safe") == "Safe"
    assert plain_title("x &amp;lt;script&amp;gt; y") == "x &lt;script&gt; y"


def test_long_title_is_cut_at_a_word_within_300_characters() -> None:
    title = plain_title("word " * 100)
    assert len(title) <= 300
    assert title.endswith("word…")
    assert plain_title("x" * 400) == "x" * 299 + "…"


# ---------------------------------------------------------------- themes and kinds

THEMES = [
    Theme("cooperation", "Cooperation"),
    Theme("knowledge-society", "Knowledge society", ("knowledge society", "KnowSoc")),
    Theme("economy", "Economy", ("Économie",)),
]


@pytest.mark.parametrize(
    "category",
    ["knowledge society", "Knowledge Society", "knowledge-society", "knowledge_society",
     " KNOWLEDGE   society! ", "Knowledge-Society.", "knowsoc", "Know Soc"],
)
def test_theme_aliases_ignore_case_spacing_and_punctuation(category: str) -> None:
    assert ThemeMapper(THEMES).slug_for(category) == "knowledge-society"


def test_theme_mapping_ignores_unknown_keeps_order_and_falls_back() -> None:
    mapper = ThemeMapper(THEMES)
    assert mapper.slug_for("economie") == "economy"
    assert mapper.themes_for(["news", "Knowledge Society", "ECONOMY", "knowledge-society",
                              "unknown"]) == ("knowledge-society", "economy")
    assert mapper.themes_for(["news", "unknown"], fallback=["cooperation"]) == ("cooperation",)
    assert mapper.themes_for([], fallback=[]) == ()


@pytest.mark.parametrize(
    ("category", "kind"),
    [("news", Kind.NEWS), ("News", Kind.NEWS), ("event", Kind.EVENT), ("Events", Kind.EVENT),
     ("case study", Kind.CASE_STUDY), ("Case Study", Kind.CASE_STUDY),
     ("case_study", Kind.CASE_STUDY), ("case-study", Kind.CASE_STUDY),
     ("publication", Kind.PUBLICATION), ("BULLETIN", Kind.BULLETIN),
     ("cooperation", None), ("newsletter", None)],
)
def test_kind_of_category(category: str, kind: Kind | None) -> None:
    assert kind_of(category) == kind


def test_kind_from_categories_then_source_then_news() -> None:
    assert kind_from(["cooperation", "Case study"], Kind.EVENT) == Kind.CASE_STUDY
    assert kind_from(["cooperation"], Kind.EVENT) == Kind.EVENT
    assert kind_from([], None) == Kind.NEWS


# ---------------------------------------------------------------- identity keys


def test_same_article_as_rss_guid_and_atom_id_has_one_key() -> None:
    rss = identity_key("https://www.example.org/news/turin/",
                       "https://www.example.org/news/turin/?utm_source=rss", "Turin", None)
    atom = identity_key(" https://WWW.example.org/news/turin ",
                        "https://www.example.org/news/turin", "Turin panel", None)
    link_only = identity_key(None, "https://www.example.org/news/turin#comments", "T", None)
    assert rss == atom == link_only == "https://www.example.org/news/turin"


def test_canonical_link_rules() -> None:
    assert canonical_link("HTTP://Example.org/a/?utm_source=x#frag") == "http://example.org/a"
    assert identity_key(None, "HTTP://Example.org/a/?utm_source=x#frag", "t", None) == \
        identity_key(None, "http://example.org/a", "t", None)
    assert canonical_link("https://example.org:443/a?id=3&utm_medium=m&b=") == \
        "https://example.org/a?id=3&b="
    assert canonical_link("http://example.org:8080") == "http://example.org:8080/"
    assert canonical_link("https://example.org/Case/Path/") == "https://example.org/Case/Path"
    assert canonical_link("mailto:x@example.org") == "mailto:x@example.org"


def test_guid_with_a_scheme_is_kept_and_bare_guid_is_scoped() -> None:
    assert identity_key(" tag:example.org,2019:1 ", "https://e.org/x", "t", None) == \
        "tag:example.org,2019:1"
    assert identity_key("urn:uuid:1234", None, "t", None) == "urn:uuid:1234"
    # A bare guid is only unique inside its feed: the link wins, else it is scoped.
    assert identity_key("4711", "https://e.org/x/", "t", None) == "https://e.org/x"
    assert identity_key("4711", None, "t", None, scope="news") == "guid:news:4711"
    assert identity_key("4711", None, "t", None, scope="other") != "guid:news:4711"


def test_content_hash_when_nothing_else_identifies_the_item() -> None:
    day = datetime(2019, 3, 4, 10, tzinfo=UTC)
    key = identity_key(None, None, "Turin <b>panel</b>", day)
    assert key.startswith("sha256:") and len(key) == len("sha256:") + 64
    brussels = timezone(timedelta(hours=1))
    assert key == identity_key("", " ", "  turin   PANEL ", datetime(2019, 3, 4, 12,
                                                                     tzinfo=brussels))
    assert key == identity_key(None, None, "Turin panel", date(2019, 3, 4))
    assert key != identity_key(None, None, "Turin panel", date(2019, 3, 5))
    assert key != identity_key(None, None, "Glasgow", day)
