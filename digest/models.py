"""The product's vocabulary as frozen, typed values; no I/O happens here.

Stages hand these to one another, so each stage can be tested on values built in memory and
no stage needs another stage's internals. Every datetime is time-zone aware (stored in UTC,
shown in the reader's zone); an event's start and end are ``date`` for all-day events.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from digest.identifiers import VariantKey


class Kind(StrEnum):
    """What an item is; digests group their sections by kind in this order."""

    NEWS = "news"
    EVENT = "event"
    CASE_STUDY = "case_study"
    PUBLICATION = "publication"
    BULLETIN = "bulletin"
    OTHER = "other"


SECTION_TITLES: dict[Kind, str] = {
    Kind.NEWS: "News",
    Kind.EVENT: "Events",
    Kind.CASE_STUDY: "Case studies",
    Kind.PUBLICATION: "Publications",
    Kind.BULLETIN: "Bulletins",
    Kind.OTHER: "Other",
}


@dataclass(frozen=True)
class EventInfo:
    """When and where an event happens. ``end`` is inclusive for all-day events."""

    start: date | datetime
    end: date | datetime | None = None
    location: str | None = None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


@dataclass(frozen=True)
class Item:
    """One piece of content, as collected (``first_seen`` is set once it is stored).

    ``key`` is the identity key (the guid when it is a URL or a global id, else the canonical
    link, else a content hash): two listings of the same article share it, and feeds use it
    as a stable id (rules in ``digest.sources.clean.identity_key``).
    ``summary_html`` has already been sanitised; ``title`` is plain text on one line.
    ``link_key`` is the link as it names one article across sources (``https``, no
    tracking parameters), set when no other item of its listing shares it: a source that
    gives the same article another guid then finds it by this (``sources.clean.link_identity``).
    ``undated`` says the source gave no date, so ``published`` is only when it was read: the
    store then keeps the first one and dates a change of content itself (feeds stay still).
    """

    key: str
    kind: Kind
    title: str
    link: str | None
    summary_html: str
    published: datetime
    themes: tuple[str, ...]
    source_id: str
    event: EventInfo | None = None
    updated: datetime | None = None
    first_seen: datetime | None = None
    link_key: str | None = None
    undated: bool = False


@dataclass(frozen=True)
class Theme:
    """A subject that items are filed under; ``aliases`` are the categories that map to it,
    ``keywords`` the words or phrases that file an item under it from its title and text."""

    slug: str
    title: str
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """One group of an edition: the items of one kind, in reading order."""

    kind: Kind
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Edition:
    """One issue of a digest, frozen: the items new in its period, grouped into sections.

    ``slot`` is the scheduled time it belongs to (the unique key with ``digest_id``);
    ``themes`` is None for the full edition and the theme subset for a variant.
    ``omitted`` counts items cut by the digest's ``max_items``; when the edition was just
    composed, ``overflow`` holds the first of them, for the web version and PDF, and
    ``unlisted`` counts those that no form lists (beyond the digest's ``max_web_items``).
    ``note_html`` is the editor's note (sanitised HTML) shown above the items, if any.
    """

    digest_id: str
    title: str
    number: int
    slot: datetime
    period_start: datetime | None
    period_end: datetime
    sections: tuple[Section, ...]
    themes: frozenset[str] | None = None
    omitted: int = 0
    overflow: tuple[Item, ...] = ()
    unlisted: int = 0
    note_html: str = ""

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @property
    def is_empty(self) -> bool:
        return not any(section.items for section in self.sections)


@dataclass(frozen=True)
class Variant:
    """The edition as seen by the members who narrowed to ``themes`` (None: all themes)."""

    key: VariantKey
    themes: frozenset[str] | None
    edition: Edition


@dataclass(frozen=True)
class BulletinSection:
    """A top-level part of a bulletin: its heading (with its number if any) and body HTML;
    a body that ends with a bullet list is also split into what comes before that list
    (``lead_html``) and its items, which upcoming events join (else: the body, and "")."""

    title: str
    body_html: str
    number: int | None = None
    lead_html: str = ""
    list_items_html: str = ""


@dataclass(frozen=True)
class Bulletin:
    """A coordinator-written bulletin parsed from Markdown with front matter."""

    slug: str
    title: str
    forum: str
    group: str
    place: str | None
    start_date: date
    end_date: date | None
    themes: tuple[str, ...]
    sections: tuple[BulletinSection, ...]
    footer_html: str
    intro_html: str
    language: str
    source_path: str
    markdown: str
    send_at: datetime | None = None
    upcoming: tuple[Item, ...] = ()
    footer_markdown: str = ""  # the footer as written, on line ``footer_line`` of the file
    footer_line: int = 1  # (the lint locates the footer's links there)
    content_hash: str = ""  # SHA-256 (hex) of the very bytes parsed: what an approval covers


class EditionStatus(StrEnum):
    """Where an edition is in its life; stored as its value."""

    DRAFT = "draft"  # waits for a coordinator (approval: true)
    APPROVED = "approved"  # goes out with the next run or `digest send`
    SENDING = "sending"  # its outbox rows are being delivered
    SENT = "sent"  # every row sent or refused for good
    SKIPPED = "skipped"  # nothing new in its slot: recorded so the slot is not tried again
    SUPERSEDED = "superseded"  # a draft nobody approved before the next slot; never sent late
    FAILED = "failed"  # could not be rendered (reason in edition_problems); tried again
    PAUSED = "paused"  # a coordinator stopped its sending; `digest resume` continues it
    CANCELLED = "cancelled"  # stopped before its first message; never sent, items not used


class SubscriberStatus(StrEnum):
    PENDING = "pending"  # subscribed on the web, confirmation link not yet followed
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


@dataclass(frozen=True)
class Subscriber:
    """A forum member; ``themes`` empty means every theme of the digests they follow."""

    email: str
    name: str
    language: str
    digests: tuple[str, ...]
    themes: tuple[str, ...] = ()
    status: SubscriberStatus = SubscriberStatus.ACTIVE
    id: int | None = None

    def follows(self, themes: Collection[str]) -> bool:
        """Whether a message about ``themes`` is for this member: one about no theme in
        particular is for all; one about some is for their followers and for the members
        who follow every theme (they chose none)."""
        return not themes or not self.themes or not set(themes).isdisjoint(self.themes)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one sending process (see store.deliveries.claim)
    SENT = "sent"
    FAILED = "failed"  # refused permanently by the server
    CANCELLED = "cancelled"  # the member left before their message went out


@dataclass(frozen=True)
class Delivery:
    """One message of one edition to one member: the outbox row that is the truth of sending."""

    id: int
    edition_id: int
    subscriber: Subscriber
    variant_key: str
    status: DeliveryStatus
    attempts: int = 0
    last_error: str | None = None
    message_id: str | None = None
    next_attempt_at: datetime | None = None  # a temporary failure waits until then


@dataclass(frozen=True)
class RenderedEmail:
    """One variant rendered once: the MJML source, the inlined HTML and the text part.

    Per-recipient values appear as placeholders (see ``digest.mail.message``) so that
    personalising is a substitution, not a render.
    """

    subject: str
    preheader: str
    mjml: str
    html: str
    text: str
    language: str
    sender_name: str = ""  # the From display name; empty: the site's sender name


@dataclass(frozen=True)
class SourceReport:
    """What polling one source gave."""

    source_id: str
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    error: str | None = None
    note: str | None = None  # "not modified", "moved permanently to ...", "disabled ..."


@dataclass
class RunReport:
    """What a run did, collected by the jobs and printed by the CLI."""

    sources: list[SourceReport] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)
    editions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said as they are: why a bulletin waits
    to_review: list[str] = field(default_factory=list)  # bulletins waiting for a coordinator
    sent: int = 0
    failures: list[str] = field(default_factory=list)

    def output(self, label: str, path: str) -> None:
        self.outputs.append((label, path))

    @property
    def failed(self) -> bool:
        return bool(self.failures) or any(s.error for s in self.sources)


# Per-recipient values are written into rendered parts as these markers and substituted,
# escaped for HTML or left plain for text, when a message is made for one member. They are
# plain ASCII without spaces so no compiler, inliner or wrapper splits or rewrites them.
PLACEHOLDERS: dict[str, str] = {
    "unsubscribe_url": "%%UNSUBSCRIBE_URL%%",
    "preferences_url": "%%PREFERENCES_URL%%",
    "name": "%%NAME%%",
    "email": "%%EMAIL%%",
}


@dataclass(frozen=True)
class EditionLinks:
    """Where an edition or bulletin lives on the web, for "view in browser" and the archive."""

    web_url: str
    archive_url: str
    pdf_url: str


ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"


@dataclass(frozen=True)
class FeedInfo:
    """One published feed: its file name, title, media type and public URLs."""

    name: str
    title: str
    label: str
    description: str
    media_type: str
    url: str
    html_url: str

    @property
    def format(self) -> str:
        """``atom`` or ``rss``."""
        return "atom" if self.media_type == ATOM_TYPE else "rss"

    @property
    def format_label(self) -> str:
        return "Atom" if self.media_type == ATOM_TYPE else "RSS"

    @property
    def stem(self) -> str:
        """What the feed is of (``all``, a theme slug, ``bulletins``), whatever its format."""
        return self.name.rsplit(".", 1)[0]

