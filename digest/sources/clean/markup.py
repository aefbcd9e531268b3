"""Collected HTML and text made inert and readable: sanitising, plain titles, cutting.

Feeds, calendars and notes are written by other people with other tools: their HTML may
carry scripts, their titles markup and line breaks. Everything here is pure (no I/O), so
the rules that make collected content inert are in one place and tested alone.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import partial
from urllib.parse import urljoin, urlsplit

import nh3

from digest.safetext import has_visible, safe_html, safe_line, safe_text

TITLE_LIMIT = 300
"""The longest title we keep: enough for any headline, short enough for a mail subject."""
SUMMARY_LIMIT = 20_000
"""The longest summary (characters of sanitised HTML, about 3 000 words) an item keeps;
a longer one is cut at a tag boundary and ends with "…". A digest shows summaries in full,
and its email must stay under Gmail's clipping size with other items beside it."""
_RAW_TITLE_LIMIT = 64 * TITLE_LIMIT  # markup and entities included: read no further

ALLOWED_TAGS = frozenset(
    {"p", "br", "a", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "h3", "h4",
     "code", "pre", "img"}
)
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "width", "height"}),
}
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
# Tags whose text is code or chrome, never prose: removed with everything inside them.
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "frame",
     "frameset", "applet", "textarea", "select", "button", "svg", "math", "head", "title"}
)
LINK_REL = "noopener noreferrer"


def repair_text(text: str) -> str:
    """Text every later stage can carry (``digest.safetext.safe_text``): C1 controls read
    as the Windows-1252 bytes they almost always are ("it\x92s" becomes "it’s"); other
    controls (PostgreSQL refuses NUL), lone surrogates, non-characters and bidi overrides
    dropped."""
    return safe_text(text)


_BLOCK_TAG = re.compile(r"<(p|ul|ol|li|blockquote|h3|h4|pre)[\s>]", re.IGNORECASE)


def sanitize_html(fragment: str, base: str | None = None) -> str:
    """Keep only inert, mail-safe HTML: a few text tags, http(s)/mailto links and images.

    Scripts, styles and frames disappear with their content; event handlers and other
    attributes are dropped; links get ``rel="noopener noreferrer"``. With an absolute
    ``base``, relative links and images are resolved against it so they still work when
    the fragment is read in a mail or another site.
    """
    fragment = repair_text(fragment)
    if not fragment.strip():
        return ""
    relative: Callable[[str], str | None] = _readable
    if base and _is_web_base(base):
        relative = partial(_absolute, base)
    cleaned = nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        url_relative=relative,
    ).strip()
    # A bare run of text is one paragraph: the same article then reads the same whether a
    # feed sent it as text (made into <p>) or as HTML without a wrapper, so listings agree.
    if cleaned and not _BLOCK_TAG.search(cleaned):
        cleaned = f"<p>{cleaned}</p>"
    # nh3 decodes character references: "&#1;" in the source is a raw U+0001 now; and
    # safe_html bounds how deep the elements nest.
    return safe_html(named(cleaned))


# A tag of a sanitiser's output: attribute values double-quoted, may hold a raw ">".
_TAG = re.compile(r'<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s"\'>/=]+(?:="[^"]*")?)*)\s*/?>')
_ATTRIBUTE = re.compile(r'([^\s"\'>/=]+)(?:="([^"]*)")?')


def named(fragment: str) -> str:
    """Sanitised HTML whose images and links a screen reader can name (WCAG 1.1.1, 2.4.4;
    axe's ``image-alt`` and ``link-name``): the author of a feed decides what reaches every
    member's mail and the web version, and one image without ``alt`` made both fail.

    An image without ``alt`` is taken as decoration (``alt=""``: what it shows is unknown,
    and a reader then skips it instead of spelling out its URL); one without ``src`` (its
    ``data:`` URL removed) shows nothing and is dropped. A link with no text, no image
    with alt text and no ``title`` has no name: its tags are dropped, its content kept."""
    if "<a" not in fragment and "<img" not in fragment:
        return fragment
    out: list[str] = []
    link: int | None = None  # where the open link's opening tag is in ``out``
    link_named = False
    position = 0
    for match in _TAG.finditer(fragment):
        text = fragment[position:match.start()]
        out.append(text)
        position = match.end()
        if link is not None and has_visible(html.unescape(text)):
            link_named = True
        closing, name = match.group(1) == "/", match.group(2).lower()
        values = {key.lower(): html.unescape(value or "")
                  for key, value in _ATTRIBUTE.findall(match.group(3))}
        tag = match.group()
        if name == "img":
            if not values.get("src", "").strip():
                continue
            if "alt" not in values:
                tag = f'<img{match.group(3)} alt="">'
            if link is not None and has_visible(values.get("alt", "")):
                link_named = True
        elif name == "a" and not closing:
            link, link_named = len(out), has_visible(values.get("title", ""))
        elif name == "a" and link is not None:
            if not link_named:
                out[link] = tag = ""
            link = None
        out.append(tag)
    out.append(fragment[position:])
    return "".join(out)


def _is_web_base(base: str) -> bool:
    """Whether relative URLs may be resolved against ``base`` (an ``xml:base`` or a feed's
    address): an http(s) URL ``urlsplit`` can read (it raises on ``https://[x``)."""
    try:
        return urlsplit(base).scheme in {"http", "https"}
    except ValueError:
        return False


def _readable(url: str) -> str | None:
    """A relative URL kept as it is when there is no base to resolve it against, unless
    ``urlsplit`` cannot read it (``//[::1/x``): such a link made the PDF of its edition
    fail, and the item was left out of every form."""
    try:
        urlsplit(url)
    except ValueError:
        return None
    return url


def _absolute(base: str, url: str) -> str | None:
    """A relative URL resolved against ``base``; an empty one is dropped, not made the base,
    and so is one ``urljoin`` cannot read (``//[::1/x``, ``https://[x``)."""
    try:
        return urljoin(base, url) if url.strip() else None
    except ValueError:
        return None


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs: escaped, blank lines split paragraphs, lines break."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    return "".join(
        "<p>" + "<br>".join(html.escape(line.strip()) for line in p.split("\n")) + "</p>"
        for p in paragraphs
        if p
    )


_BLOCK_END = re.compile(r"<(br|/p|/li|/h[1-6]|/div|/blockquote|/pre|/tr|/td|/th)\b",
                        re.IGNORECASE)


def plain_text(fragment: str) -> str:
    """The readable text of an HTML fragment on one line: no tags, entities or controls;
    blocks and line breaks become spaces, so paragraphs do not run into each other."""
    spaced = _BLOCK_END.sub(r" <\1", repair_text(fragment))
    text = html.unescape(nh3.clean(spaced, tags=set(), clean_content_tags=set(
        _DROPPED_WITH_CONTENT)))
    if "&" in text:  # escaped twice at the source ("&amp;amp;"): undo it unless it makes tags
        once_more = html.unescape(text)
        text = once_more if "<" not in once_more else text
    return safe_line(text)  # every space, line break and tab, as one space; no controls


def plain_title(text: str, limit: int = TITLE_LIMIT) -> str:
    """A title as one plain line (safe in a mail header), cut at a word with "…" if long."""
    title = cut_line(plain_text(text[:_RAW_TITLE_LIMIT]), limit)
    return title if has_visible(title) else ""  # "" lets the caller fall back


def cut_line(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters: cut at a word, ending with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


_CLOSING_TAGS = re.compile(r"(</[a-zA-Z0-9]+>\s*)+$")


def cut_html(fragment: str, limit: int = SUMMARY_LIMIT) -> str:
    """Sanitised HTML of at most about ``limit`` characters: cut before the tag or the
    character reference the limit falls in, ended with "…", and cleaned again so every
    element the cut left open is closed."""
    if len(fragment) <= limit:
        return fragment
    cut = fragment[: limit - 1]
    opening = cut.rfind("<")
    if opening > cut.rfind(">"):
        cut = cut[:opening]
    ampersand = cut.rfind("&")
    if ampersand > cut.rfind(";"):
        cut = cut[:ampersand]
    cut = _CLOSING_TAGS.sub("", cut)  # the "…" goes inside the last element, not after it
    return sanitize_html(cut.rstrip() + "…")


UNTITLED = "(untitled)"


def fallback_title(summary_html: str, link: str | None) -> str:
    """A stand-in title for an entry without one: the start of its text, else its link."""
    return plain_title(plain_text(summary_html), limit=80) or link or UNTITLED
