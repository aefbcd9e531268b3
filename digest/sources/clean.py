"""Normalise what sources give into what the rest of the product may trust.

Feeds, calendars and notes are written by other people with other tools: their HTML may
carry scripts, their titles markup and line breaks, their categories any spelling, and the
same article reaches us through several listings. Everything here is pure (no I/O), so the
rules that make collected content inert and comparable are in one place and tested alone.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import partial
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import nh3

from digest.dates import EARLIEST, LATEST, within_years
from digest.models import EventInfo, Item, Kind, Theme
from digest.safetext import has_visible, safe_html, safe_line, safe_text

TITLE_LIMIT = 300
"""The longest title we keep: enough for any headline, short enough for a mail subject."""
SUMMARY_LIMIT = 20_000
"""The longest summary (characters of sanitised HTML, about 3 000 words) an item keeps;
a longer one is cut at a tag boundary and ends with "…". A digest shows summaries in full,
and its email must stay under Gmail's clipping size with other items beside it."""
LOCATION_LIMIT = 300
"""The longest event location: a venue and its address."""
LINK_LIMIT = 2_000
"""The longest link kept (the limit sitemaps and most browsers keep to); a longer one is
dropped and the item shows no link rather than a broken one."""
KEY_LIMIT = 2_000
"""The longest identity key stored as it is (the column holds 2 048); a longer one (a
guid of a megabyte) is stored as ``sha256:`` of itself, still stable from poll to poll."""
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

_WHITESPACE = re.compile(r"\s+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DEFAULT_PORTS = {"http": 80, "https": 443}

_KIND_WORDS: dict[str, Kind] = {
    "news": Kind.NEWS,
    "event": Kind.EVENT,
    "events": Kind.EVENT,
    "case study": Kind.CASE_STUDY,
    "case studies": Kind.CASE_STUDY,
    "publication": Kind.PUBLICATION,
    "publications": Kind.PUBLICATION,
    "bulletin": Kind.BULLETIN,
    "bulletins": Kind.BULLETIN,
}


# ---------------------------------------------------------------- HTML and text


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
    relative: Literal["pass_through"] | Callable[[str], str | None] = "pass_through"
    if base and urlsplit(base).scheme in {"http", "https"}:
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
    return safe_html(cleaned)


def _absolute(base: str, url: str) -> str | None:
    """A relative URL resolved against ``base``; an empty one is dropped, not made the base."""
    return urljoin(base, url) if url.strip() else None


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


def seal(item: Item) -> Item:
    """The one pass every reader's items go through before they leave the stage
    (``poll``): every text field scrubbed of what no store, renderer or mail may carry
    (``digest.safetext``) and bounded (``TITLE_LIMIT``, ``SUMMARY_LIMIT``,
    ``LOCATION_LIMIT``, ``LINK_LIMIT``, ``KEY_LIMIT``). A reader that forgets a field, or
    a new reader, still cannot let a control character or a megabyte title through.
    Idempotent: sealing a sealed item changes nothing."""
    link = safe_line(item.link or "") or None
    if link is not None and (len(link) > LINK_LIMIT or not is_web_link(link)):
        link = None
    key = safe_text(item.key).strip()  # not safe_line: a stored key must not change
    if len(key) > KEY_LIMIT:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    event = _sane_event(item.event)
    if event is not None and event.location is not None:
        location = cut_line(safe_line(event.location), LOCATION_LIMIT) or None
        event = EventInfo(start=event.start, end=event.end, location=location)
    title = cut_line(safe_line(item.title), TITLE_LIMIT)
    return replace(item, key=key, title=title if has_visible(title) else UNTITLED,
                   link=link, summary_html=cut_html(safe_html(item.summary_html)), event=event,
                   published=_within_years(item.published))


def _within_years(moment: datetime) -> datetime:
    """A publication time moved into [EARLIEST, LATEST] (a feed's "0001" is "long ago")."""
    return min(max(moment, EARLIEST), LATEST)


def _sane_event(event: EventInfo | None) -> EventInfo | None:
    """An event outside the years anyone schedules in has no usable date: its start makes
    it no event (the item stays, undated as an event); a wild end is dropped."""
    if event is None or not within_years(event.start):
        return None
    return event if within_years(event.end) else replace(event, end=None)


UNTITLED = "(untitled)"


def fallback_title(summary_html: str, link: str | None) -> str:
    """A stand-in title for an entry without one: the start of its text, else its link."""
    return plain_title(plain_text(summary_html), limit=80) or link or UNTITLED


# ---------------------------------------------------------------- categories


def normalise_label(text: str) -> str:
    """A category as a comparison key: case, accents, spacing, hyphens and punctuation gone."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if char.isalnum())


def _kind_key(text: str) -> str:
    words = re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text.casefold()))
    return _WHITESPACE.sub(" ", words).strip()


def kind_of(category: str) -> Kind | None:
    """The kind a category names ("news", "Case study", "case_study"...), else None."""
    return _KIND_WORDS.get(_kind_key(category))


def kind_from(categories: Iterable[str], default: Kind | None) -> Kind:
    """The first kind named among the categories, else the source's kind, else news."""
    for category in categories:
        kind = kind_of(category)
        if kind is not None:
            return kind
    return default or Kind.NEWS


class ThemeMapper:
    """Maps a source's category strings, and an item's words, to the configured themes.

    A theme is recognised by its slug, its title or any alias, whatever the case, spacing,
    hyphens, underscores or punctuation, so "Knowledge Society", "knowledge-society" and
    "knowledge_society" all file an item under ``knowledge-society``. Categories that name
    no theme (including kinds such as "news") are ignored. A theme's ``keywords`` also file
    an item under it when its title or text has one as a whole word or phrase, in any case.
    An item that nothing places gets its source's themes, else the site's ``default``.
    """

    def __init__(self, themes: Iterable[Theme], default: Iterable[str] = ()) -> None:
        self._slugs: dict[str, str] = {}
        self._keywords: list[tuple[re.Pattern[str], str]] = []
        self._default = tuple(dict.fromkeys(default))
        for theme in themes:
            for label in (theme.slug, theme.title, *theme.aliases):
                key = normalise_label(label)
                if key:
                    self._slugs.setdefault(key, theme.slug)
            for keyword in theme.keywords:
                self._keywords.append((_keyword_pattern(keyword), theme.slug))

    def slug_for(self, category: str) -> str | None:
        """The theme a category names, or None."""
        return self._slugs.get(normalise_label(category))

    def themes_for(
        self, categories: Iterable[str], fallback: Iterable[str] = (), text: str = ""
    ) -> tuple[str, ...]:
        """The distinct themes the categories name, then those whose keywords ``text``
        has, in order; when none: ``fallback`` (the source's themes), else the default."""
        found: dict[str, None] = {}
        for category in categories:
            slug = self.slug_for(category)
            if slug is not None:
                found[slug] = None
        if text:
            for pattern, slug in self._keywords:
                if slug not in found and pattern.search(text):
                    found[slug] = None
        if found:
            return tuple(found)
        return tuple(dict.fromkeys(fallback)) or self._default


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    """A keyword as a whole word or phrase, any case, any run of spaces between words."""
    words = [re.escape(word) for word in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def keyword_text(title: str, summary_html: str) -> str:
    """What keyword rules read: the title and the summary's text."""
    return f"{title}\n{plain_text(summary_html)}"


# ---------------------------------------------------------------- identity


def canonical_link(link: str) -> str:
    """A link in the form used to compare articles: lower-case scheme and host, no default
    port, no fragment, no ``utm_*`` tracking parameters, no trailing slash on the path."""
    text = link.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.hostname:
        return text
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        host = f"{userinfo}@{host}"
    path = parts.path.rstrip("/") or "/"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
         if not k.lower().startswith("utm_")],
        doseq=True,
    )
    return urlunsplit((scheme, host, path, query, ""))


def is_web_link(text: str) -> bool:
    """Whether a string is an absolute http(s) URL."""
    return urlsplit(text.strip()).scheme.lower() in {"http", "https"}


def _published_day(published: date | datetime | None) -> str:
    if published is None:
        return ""
    if isinstance(published, datetime):
        aware = published if published.tzinfo else published.replace(tzinfo=UTC)
        return aware.astimezone(UTC).date().isoformat()
    return published.isoformat()


def _guid_form(guid: str) -> str:
    """How a guid is compared: a web guid as its canonical link, any other as given."""
    return canonical_link(guid) if is_web_link(guid) else guid


def shared_identifiers(
        entries: Iterable[tuple[str | None, str | None, str]]) -> frozenset[str]:
    """The guids and links (compared as ``identity_key`` compares them) that several
    different entries of one listing carry: a feed whose entries all link to its home
    page, or reuse one guid. Such a value names no one item, so ``identity_key`` passes
    over it. Entries are told apart by (guid, link, title): the same entry listed twice
    (the seeds do it) is one entry, and its guid still names it."""
    owners: dict[str, set[tuple[str, str, str]]] = {}
    for guid, link, title in entries:
        entry = ((guid or "").strip(), (link or "").strip(), " ".join(title.split()))
        forms = set()
        if entry[0]:
            forms.add(_guid_form(entry[0]))
        if entry[1]:
            forms.add(canonical_link(entry[1]))
        for form in forms:
            owners.setdefault(form, set()).add(entry)
    return frozenset(form for form, distinct in owners.items() if len(distinct) > 1)


def identity_key(
    guid: str | None,
    link: str | None,
    title: str,
    published: date | datetime | None,
    scope: str = "",
    shared: Collection[str] = frozenset(),
) -> str:
    """The key that makes the same article one item, however many listings carry it.

    1. A guid that is an http(s) URL becomes the canonical link, so a feed that uses the
       article URL as its id and one that only gives the link agree.
    2. Any other guid with a scheme (``tag:``, ``urn:``, ``uid:``...) is globally unique by
       design and kept as given (stripped).
    3. A bare guid ("1234") is only unique inside its feed: the canonical link is preferred
       when there is one, else the guid is qualified with ``scope`` (the source id).
    4. Without a guid: the canonical link.
    5. Without either: ``sha256:`` of the normalised title and the publication day.

    A guid or link in ``shared`` (carried by several entries of the listing, see
    ``shared_identifiers``) is no identity: the next rule applies.
    """
    guid = (guid or "").strip()
    link = (link or "").strip()
    if guid and _guid_form(guid) in shared:
        guid = ""
    if link and canonical_link(link) in shared:
        link = ""
    if guid and is_web_link(guid):
        return canonical_link(guid)
    if guid and _SCHEME.match(guid):
        return guid
    if link:
        return canonical_link(link)
    if guid:
        return f"guid:{scope}:{guid}" if scope else f"guid:{guid}"
    normalised = plain_text(title).casefold()
    digest = hashlib.sha256(f"{normalised}\n{_published_day(published)}".encode()).hexdigest()
    return f"sha256:{digest}"


# Query parameters that say how a reader arrived, never which article: dropped when links
# are compared across sources (``utm_*`` is dropped by ``canonical_link`` already).
_TRACKING = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid",
                       "yclid", "_hsenc", "_hsmi", "mkt_tok"})


def link_identity(link: str) -> str | None:
    """The form of a link that names one article across sources, or None.

    The canonical link (lower-case host, no default port, fragment, ``utm_*`` or trailing
    slash), also without other tracking parameters (``fbclid``, ``gclid``...) and with
    ``https`` for ``http``: a site that serves both serves one article under both. A link
    to a site's root (no path, no query) names no article and gives None."""
    canonical = canonical_link(link)
    parts = urlsplit(canonical)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    if parts.path in {"", "/"} and not parts.query:
        return None
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if k.lower() not in _TRACKING], doseq=True)
    return urlunsplit(("https", parts.netloc, parts.path, query, ""))


def with_link_keys(items: Sequence[Item]) -> list[Item]:
    """Each item with its ``link_key``: its ``link_identity`` when no other item of the
    listing has the same (a link shared by several items, such as a home page or the page
    of a recurring event, names none of them)."""
    forms = [link_identity(item.link) if item.link else None for item in items]
    counts = Counter(form for form in forms if form)
    return [replace(item, link_key=form if form and counts[form] == 1 else None)
            for item, form in zip(items, forms, strict=True)]
