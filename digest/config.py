"""``schedules.yaml`` → typed, validated settings.

The file is refused before anything runs when anything in it is wrong, and every problem is
reported at once with the file, the line and the dotted key, so an operator fixes the file
in one pass. Relative paths are resolved against the file's folder. Secrets never come from
the file: they are read from the environment (see ``Environment``).
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from digest import yaml_loader
from digest.cron import make_trigger
from digest.errors import ConfigError, ConfigProblem
from digest.languages import language_tag
from digest.models import Kind, Theme
from digest.reading import TooLargeError, read_bounded
from digest.safetext import is_unwanted

DEFAULT_CONFIG = "schedules.yaml"
MAX_CONFIG_BYTES = 1024 * 1024  # a large config (hundreds of sources) is well under 100 KB
MAX_DURATION = timedelta(days=3650)
MAX_RATE = 100_000.0  # messages per second
MAX_SIZE = 1024**3
# ASCII only: Python's \d, \s and float() also take "٣٠", "３" or an em space; a config
# value is typed on a keyboard, and a look-alike digit is a mistake to show, not to guess.
_DURATION = re.compile(r"^ *([0-9]+(?:\.[0-9]+)?) *(s|m|h|d|w) *$", re.ASCII)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
RESERVED_THEME_SLUGS = frozenset({"all", "bulletins", "index"})
_RATE = re.compile(r"^ *([0-9]+(?:\.[0-9]+)?) */ *(s|m|h) *$", re.ASCII)


def shown(value: Any, limit: int = 60) -> str:
    """A value quoted for a one-line message, cut when long (a value may be megabytes)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def parse_duration(value: Any) -> timedelta:
    """Read ``30m``, ``1h``, ``30d``, ``2w``, ``0.5s`` (or a number of seconds) as a timedelta,
    between 0 and ``MAX_DURATION`` (so no value overflows, here or in later arithmetic)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value)[:100])
        if not match:
            raise ValueError(f"expected a duration such as 30m, 1h, 7d or 2w, got {shown(value)}")
        amount, unit = match.groups()
        seconds = float(amount) * timedelta(**{_UNITS[unit]: 1}).total_seconds()
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"expected a duration such as 30m, 1h, 7d or 2w, got {shown(value)}")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"must be at most {MAX_DURATION.days}d, got {shown(value)}")
    return timedelta(seconds=seconds)


def _show_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def at_least(minimum: timedelta) -> AfterValidator:
    """A duration's lower bound for one key (a poll every second is a mistake, not a wish)."""

    def check(value: timedelta) -> timedelta:
        if value < minimum:
            raise ValueError(f"must be at least {_show_duration(minimum)}, "
                             f"got {_show_duration(value)}")
        return value

    return AfterValidator(check)


_SIZE = re.compile(r"^ *([0-9]+) *(b|kb|kib|mb|mib|gb|gib)? *$", re.IGNORECASE | re.ASCII)
_SIZE_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2,
               "gb": 1024**3, "gib": 1024**3}


def parse_size(value: Any) -> int:
    """Read ``10MB``, ``512KB`` (binary units) or a number of bytes as a byte count."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 < value <= MAX_SIZE:
            raise ValueError(f"expected a size of more than 0 and at most 1GB, got {shown(value)}")
        return value
    match = _SIZE.match(str(value)[:100])
    if not match:
        raise ValueError(f"expected a size such as 512KB or 10MB, got {shown(value)}")
    amount, unit = match.groups()
    size = int(amount) * _SIZE_UNITS[(unit or "b").lower()]
    if not 0 < size <= MAX_SIZE:
        raise ValueError(f"expected a size of more than 0 and at most 1GB, got {shown(value)}")
    return size


def parse_rate(value: Any) -> float:
    """Read ``20/s``, ``600/m`` or ``3600/h`` as messages per second: more than 0, finite,
    at most ``MAX_RATE`` (a rate of 0 would wait forever between two messages)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        rate = float(value)
    else:
        match = _RATE.match(str(value)[:100])
        if not match:
            raise ValueError(f"expected a rate such as 20/s or 600/m, got {shown(value)}")
        amount, unit = match.groups()
        rate = float(amount) / {"s": 1, "m": 60, "h": 3600}[unit]
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError("expected a rate of more than 0, such as 20/s or 600/m, "
                         f"got {shown(value)}")
    if rate > MAX_RATE:
        raise ValueError(f"must be at most {MAX_RATE:g}/s, got {shown(value)}")
    return rate


def _host(value: str) -> str:
    """A host name (RFC 1123 labels) or an IP address literal: what a socket can bind.

    ``ipaddress`` takes only the canonical forms (dotted quad for IPv4); a name whose last
    label is all digits is refused, since the resolver would read ``127.1``, ``0177.0.0.1``,
    ``2130706433`` or ``0`` (all interfaces!) as legacy IPv4 forms."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        labels = value.removesuffix(".").split(".")
        if (len(value) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels)
                or labels[-1].isdigit()):
            raise ValueError(f"expected a host name or an IP address such as 127.0.0.1, "
                             f"got {shown(value)}") from None
    return value


_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
# How often something is polled or republished: at least a minute.
Interval = Annotated[timedelta, BeforeValidator(parse_duration), at_least(timedelta(minutes=1))]
# A network wait: more than nothing.
Wait = Annotated[timedelta, BeforeValidator(parse_duration), at_least(timedelta(seconds=0.1))]
LanguageTag = Annotated[str, BeforeValidator(language_tag)]
Size = Annotated[int, BeforeValidator(parse_size)]
Rate = Annotated[float, BeforeValidator(parse_rate)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def deliverable_address(value: str) -> str:
    """An address messages can be sent from or to: messages go without SMTPUTF8, so the part
    before the ``@`` must be ASCII; a non-ASCII domain is given in its ASCII (IDNA) form."""
    local = value.strip().rpartition("@")[0]
    if local and not local.isascii():
        raise ValueError("non-ASCII characters before the @ need SMTPUTF8, which this product "
                         "does not send with (use an ASCII address)")
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.ascii_email or checked.normalized


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


class ThemeSettings(_Strict):
    title: str
    aliases: list[str] = Field(default_factory=list)
    # Words or phrases that file an item under the theme when its title or text has them
    # (whole words, any case), in addition to what its categories say.
    keywords: list[str] = Field(default_factory=list)

    @field_validator("keywords")
    @classmethod
    def _no_blank_keyword(cls, value: list[str]) -> list[str]:
        if any(not keyword.strip() for keyword in value):
            raise ValueError("a keyword cannot be blank")
        return [keyword.strip() for keyword in value]


class SourceSettings(_Strict):
    id: str
    type: Literal["feed", "ical", "folder"]
    url: str | None = None
    path: str | None = None
    every: Interval = timedelta(hours=1)
    kind: Kind | None = None
    themes: list[str] = Field(default_factory=list)

    @property
    def location(self) -> str:
        """The URL or path this source reads, whichever the config gives."""
        return self.url or self.path or ""


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
    # Who previews a draft (approval: true); they get a [TEST] copy with the web link.
    coordinators: list[str] = Field(default_factory=list)
    # How late after its slot `digest serve` still makes a missed edition (after downtime).
    grace: Duration = timedelta(hours=6)

    @field_validator("coordinators")
    @classmethod
    def _valid_addresses(cls, value: list[str]) -> list[str]:
        return [deliverable_address(address) for address in value]

    def covers(self, themes: tuple[str, ...]) -> bool:
        """Whether an item with these themes belongs to this digest."""
        return self.themes == "all" or bool(set(themes) & set(self.themes))


class Coordinator(_Strict):
    """Someone who previews and approves editions: an ``editor`` edits, curates, previews and
    test-sends; an ``approver`` may also approve, schedule, pause and cancel."""

    email: Annotated[str, AfterValidator(deliverable_address)]
    name: str = ""
    role: Literal["editor", "approver"] = "editor"


class BulletinSettings(_Strict):
    path: str
    audience: str


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
    host: Annotated[str, AfterValidator(_host)] = "127.0.0.1"
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
    events_ahead: Duration = timedelta(days=365)  # how far recurring events are expanded


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
    config_path: Path = Path(DEFAULT_CONFIG)

    # ----- derived views the stages need -----
    @property
    def base_dir(self) -> Path:
        return self.config_path.parent

    def resolve(self, path: str | Path) -> Path:
        """A path from the file, made absolute against the file's folder."""
        candidate = Path(path)
        return candidate if candidate.is_absolute() else (self.base_dir / candidate).resolve()

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
            Theme(slug=slug, title=theme.title, aliases=tuple(theme.aliases),
                  keywords=tuple(theme.keywords))
            for slug, theme in self.themes.items()
        ]

    def digest(self, digest_id: str) -> DigestSettings | None:
        return next((d for d in self.digests if d.id == digest_id), None)


@dataclass(frozen=True)
class Environment:
    """Secrets and overrides that come from the environment, never from the file."""

    database_url: str | None
    smtp_url: str | None
    smtp_password: str | None
    secret_key: str | None
    web_token: str | None

    @classmethod
    def read(cls, environ: dict[str, str] | None = None) -> Environment:
        env = dict(os.environ if environ is None else environ)
        return cls(
            database_url=env.get("DIGEST_DATABASE_URL") or None,
            smtp_url=env.get("DIGEST_SMTP_URL") or None,
            smtp_password=env.get("DIGEST_SMTP_PASSWORD") or None,
            secret_key=env.get("DIGEST_SECRET_KEY") or None,
            web_token=env.get("DIGEST_WEB_TOKEN") or None,
        )


MIN_SECRET_BYTES = 32  # the signing key of members' links (HMAC-SHA256)


MIN_SECRET_DISTINCT = 8  # 64 hex digits from secrets.token_hex(32) have about 16
_MAKE_KEY = "e.g. the output of: python -c 'import secrets; print(secrets.token_hex(32))'"


def secret_key_problem(value: str) -> str | None:
    """Why ``value`` cannot sign links (said after the key's name), or None when it can.

    Long is not enough: 64 zero bytes or one repeated letter is guessed at once, so a key
    also needs ``MIN_SECRET_DISTINCT`` different bytes. The environment gives text, and a
    value that is not valid UTF-8 reaches Python as lone surrogates: refused here, since
    such a key could not be encoded into the bytes that sign."""
    try:
        key = value.strip().encode("utf-8")
    except UnicodeEncodeError:
        return f"is not valid UTF-8 text; use letters and digits ({_MAKE_KEY})"
    if len(key) < MIN_SECRET_BYTES:
        return (f"is {len(key)} bytes long; a signing key needs at least {MIN_SECRET_BYTES} "
                f"({_MAKE_KEY})")
    if len(set(key)) < MIN_SECRET_DISTINCT:
        return (f"is too weak: it has only {len(set(key))} different characters, a signing "
                f"key needs at least {MIN_SECRET_DISTINCT} ({_MAKE_KEY})")
    return None


def database_url(settings: Settings, env: Environment) -> str:
    """The database URL: the environment's override, else the file's, with SQLite paths
    made relative to the output root (so ``sqlite:///var/digest.db`` lands in ``var/``)."""
    url = env.database_url or settings.site.database
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str(settings.output_dir / url[len(prefix):])
    return url


# ---------------------------------------------------------------- loading and locating


Path_ = tuple[str | int, ...]


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int],
          duplicates: list[Path_]) -> None:
    """Record the line of every key and list item, and spot duplicate keys YAML would hide."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == yaml_loader.MERGE_TAG:
                continue  # its keys are the anchor's: located and checked there
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                duplicates.append(child)
                lines[child] = key_node.start_mark.line + 1
                continue
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines, duplicates)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, duplicates)


def _line_of(lines: dict[Path_, int], path: Path_) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind.startswith(("literal", "enum", "int_", "bool_")):
        message += f" (got {shown(error.get('input'))})"
    return message


_M = TypeVar("_M", bound=BaseModel)


@dataclass
class _Parts:
    """The parts of a config the cross-checks need, from valid settings or, when some
    sections have type errors, from whichever entries are valid, so that every problem is
    reported in one pass instead of the type errors first and the rest on the next try."""

    base: Path
    zone: ZoneInfo
    database: str | None
    theme_slugs: list[str]
    sources: list[tuple[int, SourceSettings]]
    digests: list[tuple[int, DigestSettings]]
    digest_ids: set[str]
    bulletins: BulletinSettings | None
    subscribers_import: str | None
    default_themes: list[str] = field(default_factory=list)
    output: str = "."
    feeds_path: str = "feeds"

    def resolve(self, path: str) -> Path:
        candidate = Path(path)
        return candidate if candidate.is_absolute() else (self.base / candidate).resolve()

    @classmethod
    def of(cls, settings: Settings) -> _Parts:
        return cls(base=settings.base_dir, zone=settings.site.zone,
                   database=settings.site.database, theme_slugs=list(settings.themes),
                   sources=list(enumerate(settings.sources)),
                   digests=list(enumerate(settings.digests)),
                   digest_ids={d.id for d in settings.digests}, bulletins=settings.bulletins,
                   subscribers_import=settings.subscribers.import_,
                   default_themes=list(settings.site.default_themes),
                   output=str(settings.site.output), feeds_path=settings.feeds.path)

    @classmethod
    def salvage(cls, data: dict[str, Any], base: Path) -> _Parts:
        def valid(model: type[_M], value: Any) -> _M | None:
            try:
                return model.model_validate(value)
            except ValidationError:
                return None

        def entries(model: type[_M], key: str) -> list[tuple[int, _M]]:
            raw = data.get(key)
            listed = raw if isinstance(raw, list) else []
            return [(i, m) for i, v in enumerate(listed) if (m := valid(model, v)) is not None]

        site = data.get("site") if isinstance(data.get("site"), dict) else {}
        assert isinstance(site, dict)
        try:
            zone = ZoneInfo(str(site.get("timezone", "UTC")))
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: name too long
            zone = ZoneInfo("UTC")
        themes = data.get("themes")
        digests = data.get("digests")
        subscribers = data.get("subscribers")
        imported = subscribers.get("import") if isinstance(subscribers, dict) else None
        feeds = data.get("feeds") if isinstance(data.get("feeds"), dict) else {}
        assert isinstance(feeds, dict)
        return cls(
            base=base, zone=zone,
            database=site.get("database") if isinstance(site.get("database"), str) else None,
            theme_slugs=[str(k) for k in themes] if isinstance(themes, dict) else [],
            sources=entries(SourceSettings, "sources"),
            digests=entries(DigestSettings, "digests"),
            digest_ids={str(d.get("id")) for d in digests if isinstance(d, dict)}
            if isinstance(digests, list) else set(),
            bulletins=valid(BulletinSettings, data.get("bulletins")),
            subscribers_import=imported if isinstance(imported, str) else None,
            default_themes=[str(t) for t in site.get("default_themes") or []]
            if isinstance(site.get("default_themes"), list) else [],
            output=str(site.get("output", ".")), feeds_path=str(feeds.get("path", "feeds")))


def _semantic_problems(parts: _Parts) -> Iterator[tuple[Path_, str]]:
    """What pydantic's types cannot see: references, schedules, files, unique ids."""
    themes = set(parts.theme_slugs)
    for slug in parts.theme_slugs:
        if not _SLUG.match(slug):
            yield ("themes", slug), "theme slugs are lower case letters, digits and hyphens"
        elif slug in RESERVED_THEME_SLUGS:
            yield ("themes", slug), (f"{slug!r} is reserved for the feed of the same name "
                                     f"(reserved: {', '.join(sorted(RESERVED_THEME_SLUGS))})")
    if parts.database is not None and not parts.database.startswith(("sqlite:///",
                                                                     "postgresql://")):
        yield ("site", "database"), "expected sqlite:///PATH or postgresql://..."
    for position, slug in enumerate(parts.default_themes):
        if slug not in themes:
            yield ("site", "default_themes", position), f"unknown theme {slug!r}"
    seen_sources: set[str] = set()
    for index, source in parts.sources:
        yield from _source_problems(parts, ("sources", index), source, themes, seen_sources)
    seen_digests: set[str] = set()
    for index, digest in parts.digests:
        where: Path_ = ("digests", index)
        if digest.id in seen_digests:
            yield (*where, "id"), f"duplicate digest id {digest.id!r}"
        seen_digests.add(digest.id)
        if not _SLUG.match(digest.id):
            yield (*where, "id"), "digest ids are lower case letters, digits and hyphens"
        if digest.themes != "all":
            for position, slug in enumerate(digest.themes):
                if slug not in themes:
                    yield (*where, "themes", position), f"unknown theme {slug!r}"
        try:
            make_trigger(digest.cron, parts.zone)
        except ValueError as exc:
            yield (*where, "cron"), f"invalid cron {digest.cron!r}: {exc}"
    if parts.bulletins:
        folder = parts.resolve(parts.bulletins.path)
        if not folder.is_dir():
            yield ("bulletins", "path"), f"no such folder: {folder}"
        if parts.bulletins.audience not in parts.digest_ids:
            yield ("bulletins", "audience"), (
                f"unknown digest {parts.bulletins.audience!r} "
                f"(expected one of: {', '.join(sorted(parts.digest_ids)) or 'none defined'})"
            )
    imported = parts.subscribers_import
    if imported and not parts.resolve(imported).is_file():
        yield ("subscribers", "import"), f"no such file: {parts.resolve(imported)}"
    yield from _path_problems(parts)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _overlap(one: Path, other: Path) -> bool:
    return _inside(one, other) or _inside(other, one)


def _path_problems(parts: _Parts) -> Iterator[tuple[Path_, str]]:
    """Where the product writes and what it serves (docs/configuration.md, "Paths").

    Every output (``feeds.path``, ``out/``, ``var/``, an SQLite database) resolves, links
    followed, inside ``site.output``; the served feeds folder shares nothing with ``out/``
    or ``var/``; inputs are not read from ``var/`` or the outbox, and the members' import
    file is not put where it would be served.
    """
    root = Path(os.path.realpath(parts.resolve(parts.output)))
    private = {"var/": Path(os.path.realpath(root / "var")),
               "out/": Path(os.path.realpath(root / "out"))}
    for name, folder in private.items():
        if not _inside(folder, root) or folder == root:
            yield ("site", "output"), (f"{root / name} leads to {folder}, outside the output "
                                       f"root {root}; it must be a folder inside it")
    feeds = Path(os.path.realpath(root / parts.feeds_path))
    if feeds == root:
        yield ("feeds", "path"), (f"{parts.feeds_path!r} is the output root itself, which "
                                  "holds var/ (the signing key, the database) and out/ (the "
                                  "outbox); give the feeds a folder of their own, e.g. feeds")
    elif not _inside(feeds, root):
        yield ("feeds", "path"), (f"{parts.feeds_path!r} leads to {feeds}, outside the output "
                                  f"root {root}; it must be a folder inside it")
    else:
        for name, folder in private.items():
            if _overlap(feeds, folder):
                yield ("feeds", "path"), (f"{parts.feeds_path!r} ({feeds}) overlaps {name} "
                                          f"({folder}); the feeds folder is served to anyone, "
                                          f"so it must share nothing with var/ or out/")
    served = (feeds, private["out/"])
    database = parts.database or ""
    if database.startswith("sqlite:///") and database != "sqlite:///:memory:":
        file = Path(os.path.realpath(root / database.removeprefix("sqlite:///")))
        if not _inside(file, root):
            yield ("site", "database"), (f"the SQLite file {file} is outside the output root "
                                         f"{root}; it must be inside it (e.g. in var/)")
        elif any(_inside(file, folder) for folder in served):
            yield ("site", "database"), (f"the SQLite file {file} would be in a served folder "
                                         "(the feeds or out/); keep it in var/")
    inputs: list[tuple[Path_, str]] = [(("sources", index, "path" if source.path else "url"),
                                        source.path or source.url or "")
                                       for index, source in parts.sources
                                       if source.path or (source.url and not re.match(
                                           r"^https?://", source.url))]
    if parts.bulletins:
        inputs.append((("bulletins", "path"), parts.bulletins.path))
    for where, location in inputs:
        found = Path(os.path.realpath(parts.resolve(location)))
        if _inside(found, private["var/"]) or _inside(found, private["out/"] / "outbox"):
            yield where, (f"{found} is inside var/ or the outbox, which hold private data; "
                          "read sources and bulletins from elsewhere")
    if parts.subscribers_import:
        found = Path(os.path.realpath(parts.resolve(parts.subscribers_import)))
        if any(_inside(found, folder) for folder in served):
            yield ("subscribers", "import"), (f"{found} is in a served folder (the feeds or "
                                              "out/); members' addresses must not be served")


def _source_problems(parts: _Parts, where: Path_, source: SourceSettings, themes: set[str],
                     seen: set[str]) -> Iterator[tuple[Path_, str]]:
    if source.id in seen:
        yield (*where, "id"), f"duplicate source id {source.id!r}"
    seen.add(source.id)
    for position, slug in enumerate(source.themes):
        if slug not in themes:
            yield (*where, "themes", position), f"unknown theme {slug!r}"
    if source.type == "folder":
        if not source.path:
            yield (*where, "path"), "a folder source needs path"
        elif not parts.resolve(source.path).is_dir():
            yield (*where, "path"), f"no such folder: {parts.resolve(source.path)}"
    elif not source.url:
        yield (*where, "url"), f"a {source.type} source needs url"
    elif not re.match(r"^https?://", source.url) and not parts.resolve(source.url).is_file():
        yield (*where, "url"), f"no such file: {parts.resolve(source.url)}"


def _unwanted_characters(value: object, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    """Every text of the config that holds a character no email, page or header may carry
    (controls, lone surrogates, bidi overrides: ``digest.safetext``): a title with U+0001
    would otherwise stop every edition at the MJML compiler, far from its cause."""
    if isinstance(value, str):
        found = next((c for c in value if is_unwanted(c)), None)
        if found is not None:
            yield path, (f"holds the character U+{ord(found):04X} (a control or invisible "
                         "formatting character): remove it")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unwanted_characters(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unwanted_characters(item, (*path, index))


def load_settings(path: str | Path) -> Settings:
    """Read, validate and resolve a config file, or raise ``ConfigError`` with every problem."""
    file = Path(path)
    shown = str(path)
    try:
        raw = read_bounded(file, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(shown, None, "(file)", "no such file")]) from None
    except TooLargeError as exc:
        raise ConfigError([ConfigProblem(shown, None, "(file)", str(exc))]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(shown, None, "(file)",
                                         f"unreadable: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(shown, raw.count(b"\n", 0, exc.start) + 1, "(file)",
                                         f"not UTF-8 (byte {raw[exc.start]:#04x}): save the "
                                         "file as UTF-8")]) from None
    try:
        node, data = yaml_loader.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, yaml_loader.YamlLimitError):
            raise ConfigError([ConfigProblem(shown, line, "(file)", f"refused: {reason}")])\
                from None
        raise ConfigError([ConfigProblem(shown, line, "(syntax)", f"not valid YAML: {reason}")])\
            from None
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(shown, 1, "(file)", "expected a mapping of sections")])
    lines: dict[Path_, int] = {}
    duplicates: list[Path_] = []
    if node is not None:
        _walk(node, (), lines, duplicates)
    problems = [ConfigProblem(shown, lines.get(p), _dotted(p), "duplicate key") for p in duplicates]
    problems += [ConfigProblem(shown, _line_of(lines, p), _dotted(p), message)
                 for p, message in _unwanted_characters(data)]
    if "config_path" in data:
        problems.append(ConfigProblem(shown, lines.get(("config_path",)), "config_path",
                                      "unknown key"))
        data.pop("config_path")
    try:
        settings = Settings.model_validate({**data, "config_path": file.resolve()})
    except ValidationError as exc:
        for error in exc.errors():
            loc: Path_ = tuple(error["loc"])
            # pydantic names a union's branches in the path; they mean nothing to the user.
            loc = tuple(p for p in loc if p not in ("list[str]", "literal['all']"))
            problems.append(ConfigProblem(shown, _line_of(lines, loc), _dotted(loc),
                                          _message(dict(error))))
        problems += [ConfigProblem(shown, _line_of(lines, p), _dotted(p), message) for p, message
                     in _semantic_problems(_Parts.salvage(data, file.resolve().parent))]
        raise ConfigError(problems) from None
    problems += [ConfigProblem(shown, _line_of(lines, p), _dotted(p), message)
                 for p, message in _semantic_problems(_Parts.of(settings))]
    if problems:
        raise ConfigError(problems)
    return settings


def check_environment(settings: Settings, env: Environment) -> None:
    """Refuse, before anything runs, a config that needs a secret the environment lacks."""
    problems = []
    if settings.delivery.transport == "smtp" and not env.smtp_url:
        problems.append(ConfigProblem(str(settings.config_path), None, "delivery.transport",
                                      "smtp needs DIGEST_SMTP_URL in the environment "
                                      "(e.g. smtp://user@host:587?starttls=1)"))
    url = env.database_url
    if url and not url.startswith(("sqlite:///", "postgresql://")):
        problems.append(ConfigProblem("DIGEST_DATABASE_URL", None, "DIGEST_DATABASE_URL",
                                      "expected sqlite:///PATH or postgresql://..."))
    if url and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        file = Path(os.path.realpath(database_url(settings, env).removeprefix("sqlite:///")))
        if any(_inside(file, folder) for folder in (Path(os.path.realpath(settings.feeds_dir)),
                                                    Path(os.path.realpath(settings.out_dir)))):
            problems.append(ConfigProblem("DIGEST_DATABASE_URL", None, "DIGEST_DATABASE_URL",
                                          f"the SQLite file {file} would be in a served "
                                          "folder (the feeds or out/); keep it in var/"))
    key_problem = secret_key_problem(env.secret_key) if env.secret_key else None
    if key_problem:
        problems.append(ConfigProblem("DIGEST_SECRET_KEY", None, "DIGEST_SECRET_KEY",
                                      key_problem))
    if problems:
        raise ConfigError(problems)


def config_path_from(option: str | None, environ: dict[str, str] | None = None) -> Path:
    """Which file to load: ``--config``, else ``DIGEST_CONFIG``, else ``./schedules.yaml``."""
    env = os.environ if environ is None else environ
    return Path(option or env.get("DIGEST_CONFIG") or DEFAULT_CONFIG)
