"""The shape of ``schedules.yaml``: one pydantic model per section, and ``Settings`` whole.

Each model says what a section may hold and its defaults; the values' units and bounds come
from ``digest.config.units``. What one section cannot see alone (references between
sections, files, schedules) is checked in ``digest.config.checks``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from digest.config.addresses import bindable_host, deliverable_address
from digest.config.bounces import BounceSettings
from digest.config.paths import resolve
from digest.config.units import (
    Duration,
    Interval,
    LanguageTag,
    Rate,
    Size,
    Wait,
    at_least,
    parse_duration,
    shown,
)
from digest.config.workers import WorkersSettings
from digest.languages import nearest
from digest.models import Kind, Theme

DEFAULT_CONFIG = "schedules.yaml"


class _Strict(BaseModel):
    """Unknown keys are refused (a typo is not a default), and settings never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Sender(_Strict):
    name: str
    address: Annotated[str, AfterValidator(deliverable_address)]


class Site(_Strict):
    title: str
    base_url: str
    language: LanguageTag = "en"
    timezone: str = "UTC"
    sender: Sender
    output: Path = Path()
    database: str = "sqlite:///var/digest.db"
    # Themes of an item that neither its categories, the themes' keywords nor its source's
    # `themes` place anywhere.
    default_themes: list[str] = Field(default_factory=list)

    @field_validator("base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"expected an absolute http(s) URL, got {shown(value)}")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: name too long
            raise ValueError(f"unknown time zone {shown(value)} (use an IANA name)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _mapping_problem(titles: dict[object, object]) -> str | None:
    """What is wrong with a mapping of language to title, if anything."""
    if not titles:
        return "an empty mapping: give at least the title in the site's language"
    for language, title in titles.items():
        if not isinstance(language, str):
            return f"the language {shown(language)} is not a language tag"
        if not isinstance(title, str):
            return f"{language}: expected the title as text, got {shown(title)}"
    return None


def _title_text(value: object) -> object:
    """A theme's title once ``ThemeSettings`` took a mapping apart: text, else what is wrong
    (a mapping that could not be read as titles by language, a list, a number)."""
    if isinstance(value, dict):
        raise ValueError(f"{_mapping_problem(value)} (expected a title, or one per language "
                         "such as {en: Economy, fr: Économie})")
    if not isinstance(value, str):
        raise ValueError(f"expected a title, or one per language such as {{en: Economy, fr: "
                         f"Économie}}, got {shown(value)}")
    return value


class ThemeSettings(_Strict):
    """A theme; its ``title`` is one text, or one per language (``{en: Economy, fr:
    Économie}``). Given per language, ``title`` is the site language's (the first one
    until ``Settings`` puts the site's first) and ``titles`` holds them all, read through
    ``digest.theme_titles``; ``checks`` requires the site's language among them."""

    title: Annotated[str, BeforeValidator(_title_text)]
    titles: dict[str, str] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    # Words or phrases that file an item under the theme when its title or text has them
    # (whole words, any case), in addition to what its categories say.
    keywords: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _titles_by_language(cls, data: object) -> object:
        """A well-made mapping of titles becomes ``titles``, its first one ``title``; a
        badly made one stays, for ``_title_text`` to say what is wrong at ``title``."""
        if not isinstance(data, dict):
            return data
        if "titles" in data:
            raise ValueError("unknown key 'titles': give `title` a mapping of language "
                             "to title instead, e.g. {en: Economy, fr: Économie}")
        titles = data.get("title")
        if not isinstance(titles, dict) or _mapping_problem(titles) is not None:
            return data
        return {**data, "title": next(iter(titles.values())), "titles": titles}

    @field_validator("keywords")
    @classmethod
    def _no_blank_keyword(cls, value: list[str]) -> list[str]:
        if any(not keyword.strip() for keyword in value):
            raise ValueError("a keyword cannot be blank")
        return [keyword.strip() for keyword in value]


def _site_title_first(theme: object, language: str) -> object:
    """A theme's raw settings with its title in ``language`` first, when it has one."""
    if not isinstance(theme, dict) or not isinstance(theme.get("title"), dict):
        return theme
    titles: dict[object, object] = theme["title"]
    found = nearest(language, [key for key in titles if isinstance(key, str)])
    if found is None:
        return theme  # checks.py says the site's language is missing
    return {**theme, "title": {found: titles[found],
                               **{k: v for k, v in titles.items() if k != found}}}


_PASSWORD_IN_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@]*:[^/?#@]*@")


class SourceSettings(_Strict):
    id: str
    type: Literal["feed", "ical", "folder"]
    url: str | None = None
    path: str | None = None
    every: Interval = timedelta(hours=1)
    kind: Kind | None = None
    themes: list[str] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        """A source's URL is printed in every message about it (``collect``, ``status``,
        the console): a password in it would be printed too, and secrets never come from
        this file. The URL is not echoed here either."""
        if value is not None and _PASSWORD_IN_URL.match(value.strip()):
            raise ValueError("a URL holding a password (user:password@) is refused: it "
                             "would be printed in every message about the source")
        return value

    @property
    def location(self) -> str:
        """The URL or path this source reads, whichever the config gives."""
        return self.url or self.path or ""


class Coordinator(_Strict):
    """Someone who previews and approves editions: an ``editor`` edits, curates, previews and
    test-sends; an ``approver`` may also approve, schedule, pause and cancel."""

    email: Annotated[str, AfterValidator(deliverable_address)]
    name: str = ""
    role: Literal["editor", "approver"] = "editor"


def _as_coordinator(value: object) -> object:
    """A digest's coordinator given as a plain address (the older form, still valid): an
    editor of that digest, who gets its drafts' [TEST] previews."""
    return {"email": value} if isinstance(value, str) else value


class DigestSettings(_Strict):
    id: str
    title: str
    themes: Literal["all"] | list[str] = "all"
    kinds: list[Kind] = Field(
        default_factory=lambda: [Kind.NEWS, Kind.EVENT, Kind.CASE_STUDY, Kind.PUBLICATION]
    )
    cron: str
    max_items: int = Field(default=40, ge=1, le=10_000, strict=True)
    # How many items the web version and PDF list at most (the email's first): the rest are
    # counted and pointed to the feeds and the archive, so an edition's forms stay bounded.
    max_web_items: int = Field(default=200, ge=1, le=5000, strict=True)
    max_age: Annotated[timedelta, BeforeValidator(parse_duration),
                       at_least(timedelta(hours=1))] = timedelta(days=30)
    approval: bool = False
    # Who previews a draft (approval: true); they get a [TEST] copy with the web link, and
    # may sign in to the console with their role for this digest (docs/console.md).
    coordinators: list[Annotated[Coordinator, BeforeValidator(_as_coordinator)]] = Field(
        default_factory=list)
    # How late after its slot `digest serve` still makes a missed edition (after downtime).
    grace: Duration = timedelta(hours=6)

    def covers(self, themes: tuple[str, ...]) -> bool:
        """Whether an item with these themes belongs to this digest."""
        return self.themes == "all" or bool(set(themes) & set(self.themes))


class BulletinSettings(_Strict):
    path: str
    audience: str
    # A bulletin goes out only once a coordinator approved it (docs/console.md); with
    # ``false`` one without lint errors goes out by itself, errors hold it all the same.
    approval: bool = True


class FeedSettings(_Strict):
    every: Interval = timedelta(minutes=15)
    entries: int = Field(default=50, ge=1, le=10_000, strict=True)
    path: str = "feeds"


class SubscriberSettings(_Strict):
    import_: str | None = Field(default=None, alias="import")


class DeliverySettings(_Strict):
    transport: Literal["file", "smtp"] = "file"
    rate: Rate = 20.0
    concurrency: int = Field(default=4, ge=1, le=64, strict=True)


class WebSettings(_Strict):
    host: Annotated[str, AfterValidator(bindable_host)] = "127.0.0.1"
    port: int = Field(default=8040, ge=1, le=65535, strict=True)  # strict: `true` is no port


class CollectSettings(_Strict):
    """How sources are polled: limits that keep one slow or hostile site from hurting the
    run (see docs/sources.md)."""

    timeout: Wait = timedelta(seconds=20)  # waiting for any one read or write
    connect_timeout: Wait = timedelta(seconds=10)
    deadline: Wait = timedelta(seconds=60)  # one source's whole poll, retries included
    max_bytes: Size = 10 * 1024 * 1024  # one body, both as sent and once decompressed
    max_redirects: int = Field(default=5, ge=0, le=20, strict=True)
    retries: int = Field(default=2, ge=0, le=10, strict=True)  # after 5xx, 429, timeouts...
    backoff: Duration = timedelta(seconds=2)  # the first wait; doubled at each retry
    concurrency: int = Field(default=8, ge=1, le=64, strict=True)
    per_host: int = Field(default=2, ge=1, le=16, strict=True)
    # Processes that parse feeds, this one included; unset: one per CPU from 10 feeds on.
    processes: int | None = Field(default=None, ge=1, le=64, strict=True)
    events_ahead: Duration = timedelta(days=365)  # how far recurring events are expanded
    # Items one poll of one source keeps (entries, events, notes); the rest are reported.
    max_items: int = Field(default=5000, ge=1, le=100_000, strict=True)


class Settings(_Strict):
    """The whole validated configuration; paths are absolute once loaded."""

    site: Site
    themes: dict[str, ThemeSettings] = Field(default_factory=dict)
    sources: list[SourceSettings] = Field(default_factory=list)
    digests: list[DigestSettings] = Field(default_factory=list)
    bulletins: BulletinSettings | None = None
    feeds: FeedSettings = FeedSettings()
    subscribers: SubscriberSettings = SubscriberSettings()
    delivery: DeliverySettings = DeliverySettings()
    web: WebSettings = WebSettings()
    collect: CollectSettings = CollectSettings()
    coordinators: list[Coordinator] = Field(default_factory=list)
    bounces: BounceSettings | None = None  # the bounce mailbox (docs/bounces.md)
    workers: WorkersSettings = WorkersSettings()  # jobs on procrastinate (docs/deploy.md)
    config_path: Path = Path(DEFAULT_CONFIG)

    @model_validator(mode="before")
    @classmethod
    def _site_language_title_first(cls, data: object) -> object:
        """A theme titled per language is known by its site-language title (feeds, the
        console, every page in the site's language): put that one first."""
        if not isinstance(data, dict) or not isinstance(data.get("themes"), dict):
            return data
        site = data.get("site")
        language = site.get("language", "en") if isinstance(site, dict) else "en"
        if not isinstance(language, str):
            return data
        return {**data, "themes": {slug: _site_title_first(theme, language)
                                   for slug, theme in data["themes"].items()}}

    # ----- derived views the stages need -----
    @property
    def base_dir(self) -> Path:
        return self.config_path.parent

    def resolve(self, path: str | Path) -> Path:
        """A path from the file, made absolute against the file's folder."""
        return resolve(self.base_dir, path)

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.site.output)

    @property
    def feeds_dir(self) -> Path:
        return (self.output_dir / self.feeds.path).resolve()

    @property
    def out_dir(self) -> Path:
        return self.output_dir / "out"

    @property
    def var_dir(self) -> Path:
        return self.output_dir / "var"

    def theme_list(self) -> list[Theme]:
        return [
            # A title in another language names the theme too (a French feed's "Économie").
            Theme(slug=slug, title=theme.title,
                  aliases=(*theme.aliases, *theme.titles.values()),
                  keywords=tuple(theme.keywords))
            for slug, theme in self.themes.items()
        ]

    def digest(self, digest_id: str) -> DigestSettings | None:
        return next((d for d in self.digests if d.id == digest_id), None)
