"""Which article an entry is: identity keys within a listing and link identity across
sources.

The same article reaches us through several listings, under other guids and with
tracking parameters; these rules make it one item, and say which guids and links name
no one article (a feed whose entries all link to its home page).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

from digest.dates import date_or_utc
from digest.models import Item
from digest.sources.clean.markup import plain_text

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@lru_cache(maxsize=4096)  # pure, and asked of each entry's guid and link several times
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


@lru_cache(maxsize=4096)
def is_web_link(text: str) -> bool:
    """Whether a string is an absolute http(s) URL that can be read."""
    parts = readable_url(text.strip())
    return parts is not None and parts.scheme.lower() in {"http", "https"}


def readable_url(text: str) -> SplitResult | None:
    """``urlsplit`` of a URL a source gave, or None when it cannot be read (an unclosed
    IPv6 bracket, a port that is not a number): one entry's link that is no link, never a
    ValueError that fails the whole listing."""
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError:
        return None
    return parts


def _published_day(published: date | datetime | None) -> str:
    """The day of publication in UTC (a floating time read as UTC), or "" for none."""
    if published is None:
        return ""
    moment = date_or_utc(published, UTC)
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


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


# ASCII characters no URL may hold as they are (RFC 3986; a space cuts a link short in a
# plain-text mail): percent-encoded after the host, and no host holds one.
_NOT_IN_URL = re.compile(r'[ "<>\\^`{|}\[\]]')


def web_address(link: str) -> str | None:
    """An http(s) link as every output can carry it, or None when it has no readable host.

    A source's link reaches the feeds (an Atom ``href`` must be an IRI, RSS ``<link>`` a
    URL), the web pages and the plain-text mail (where a space ends the link): characters
    no URL may hold (space, ``"``, ``<``, ``>``, ``\\``, ``^``, backquote, braces, ``|``,
    brackets) are percent-encoded after the host, as a browser sends them; a link whose
    host holds one, or whose port is no port (``:99999``), leads nowhere and is dropped.
    Other characters (letters of any script) are kept: a valid IRI."""
    try:
        parts = urlsplit(link)
        parts.port  # noqa: B018 (raises ValueError on a port out of range)
    except ValueError:
        return None
    host = parts.netloc.replace("[", "").replace("]", "")  # an IPv6 literal's brackets
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname \
            or _NOT_IN_URL.search(host):
        return None
    head = f"{parts.scheme}://{parts.netloc}"
    if link[:len(head)].lower() != head.lower():
        return None  # "https:host" or "https:/host": not the form every reader takes
    rest = link[len(head):]
    return link[:len(head)] + _NOT_IN_URL.sub(lambda c: quote(c.group()), rest)


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
    parts = readable_url(canonical)
    if parts is None or parts.scheme not in {"http", "https"} or not parts.netloc:
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
