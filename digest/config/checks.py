"""What the settings' types cannot see: references between sections, schedules, files,
unique ids, where outputs go and which characters a text may hold.

Each check reads the settings through a ``Salvage``, so it runs on a valid ``Settings`` and
equally on whichever sections validated when others did not. It yields (key path, message)
pairs; ``digest.config.locator`` gives them their lines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from digest import cron
from digest.config import paths
from digest.config.database_urls import url_problem
from digest.config.locator import KeyPath
from digest.config.paths import inside, resolve
from digest.config.salvage import Salvage
from digest.config.schema import BulletinSettings, DigestSettings, SourceSettings, ThemeSettings
from digest.identifiers import SLUG
from digest.languages import EXAMPLES, is_language_tag, nearest
from digest.safetext import is_unwanted

_WEB = re.compile(r"^https?://")
RESERVED_THEME_SLUGS = frozenset({"all", "bulletins", "index"})
Found = Iterator[tuple[KeyPath, str]]


def semantic_problems(parts: Salvage, base: Path) -> Found:
    """Every cross-check, on the settings read from a file in the folder ``base``."""
    themes = {str(slug) for slug in parts.keys(("themes",))}
    yield from _theme_problems(parts)
    database = parts.value(("site", "database"), str)
    if database is not None and (problem := url_problem(database)) is not None:
        yield ("site", "database"), problem
    for position, slug in parts.entries(("site", "default_themes"), str):
        if slug not in themes:
            yield ("site", "default_themes", position), f"unknown theme {slug!r}"
    unnameable = [(where, reason) for where, location in _named_paths(parts)
                  if (reason := paths.unnameable(location))]
    yield from unnameable
    look = not unnameable  # looking up such a path raises instead of answering
    seen_sources: set[str] = set()
    for index, source in parts.entries(("sources",), SourceSettings):
        yield from _source_problems(base, ("sources", index), source, themes, seen_sources,
                                    look)
    yield from _digest_problems(parts, themes)
    bulletins = parts.value(("bulletins",), BulletinSettings)
    if bulletins:
        yield from _bulletin_problems(parts, base, bulletins, look)
    imported = parts.value(("subscribers", "import_"), str)
    if look and imported and not resolve(base, imported).is_file():
        yield ("subscribers", "import"), f"no such file: {resolve(base, imported)}"
    if look:
        yield from _path_problems(parts, base)


def _named_paths(parts: Salvage) -> Iterator[tuple[KeyPath, str]]:
    """Every path the config names, with its key: what the checks below look up."""
    yield from _inputs(parts)
    for where in (("site", "output"), ("feeds", "path"), ("bounces", "maildir")):
        if isinstance(value := parts.value(where, object), str | Path):
            yield where, str(value)
    if (imported := parts.value(("subscribers", "import_"), str)) is not None:
        yield ("subscribers", "import"), imported
    database = parts.value(("site", "database"), str) or ""
    if database.startswith("sqlite:///"):
        yield ("site", "database"), database.removeprefix("sqlite:///")


def _theme_problems(parts: Salvage) -> Found:
    language = parts.value(("site", "language"), str) or "en"
    for key in parts.keys(("themes",)):
        slug = str(key)
        if not SLUG.match(slug):
            yield ("themes", slug), "theme slugs are lower case letters, digits and hyphens"
        elif slug in RESERVED_THEME_SLUGS:
            yield ("themes", slug), (f"{slug!r} is reserved for the feed of the same name "
                                     f"(reserved: {', '.join(sorted(RESERVED_THEME_SLUGS))})")
        theme = parts.value(("themes", slug), ThemeSettings)
        if theme is not None and theme.titles:
            yield from _title_problems(("themes", slug, "title"), theme.titles, language)


def _title_problems(where: KeyPath, titles: dict[str, str], site_language: str) -> Found:
    """A title per language: each key a language tag, each title written, and one in the
    site's language (the title feeds, the console and the site's readers see)."""
    for tag, title in titles.items():
        if not is_language_tag(tag):
            yield (*where, tag), (f"{tag!r} is not a language tag; expected one such as "
                                  f"{EXAMPLES}")
        elif not title.strip():
            yield (*where, tag), "the title is blank"
    if nearest(site_language, titles) is None:
        yield where, (f"no title in the site's language {site_language!r} (site.language): "
                      f"add `{site_language}: ...` beside {', '.join(sorted(titles))}")


def _digest_problems(parts: Salvage, themes: set[str]) -> Found:
    timezone = parts.value(("site", "timezone"), str)
    zone = ZoneInfo(timezone or "UTC")
    seen: set[str] = set()
    for index, digest in parts.entries(("digests",), DigestSettings):
        where: KeyPath = ("digests", index)
        if digest.id in seen:
            yield (*where, "id"), f"duplicate digest id {digest.id!r}"
        seen.add(digest.id)
        if not SLUG.match(digest.id):
            yield (*where, "id"), "digest ids are lower case letters, digits and hyphens"
        if digest.themes != "all":
            for position, slug in enumerate(digest.themes):
                if slug not in themes:
                    yield (*where, "themes", position), f"unknown theme {slug!r}"
        try:
            cron.check(digest.cron, zone)
        except ValueError as exc:
            yield (*where, "cron"), f"invalid cron {digest.cron!r}: {exc}"


def _bulletin_problems(parts: Salvage, base: Path, bulletins: BulletinSettings,
                       look: bool = True) -> Found:
    folder = resolve(base, bulletins.path) if look else None
    if folder is not None and not folder.is_dir():
        yield ("bulletins", "path"), f"no such folder: {folder}"
    digest_ids = {digest_id for index in parts.keys(("digests",))
                  if (digest_id := parts.value(("digests", index, "id"), str)) is not None}
    if bulletins.audience not in digest_ids:
        yield ("bulletins", "audience"), (
            f"unknown digest {bulletins.audience!r} "
            f"(expected one of: {', '.join(sorted(digest_ids)) or 'none defined'})"
        )


def _source_problems(base: Path, where: KeyPath, source: SourceSettings, themes: set[str],
                     seen: set[str], look: bool = True) -> Found:
    if source.id in seen:
        yield (*where, "id"), f"duplicate source id {source.id!r}"
    seen.add(source.id)
    for position, slug in enumerate(source.themes):
        if slug not in themes:
            yield (*where, "themes", position), f"unknown theme {slug!r}"
    if source.type == "folder":
        if not source.path:
            yield (*where, "path"), "a folder source needs path"
        elif look and not resolve(base, source.path).is_dir():
            yield (*where, "path"), f"no such folder: {resolve(base, source.path)}"
    elif not source.url:
        yield (*where, "url"), f"a {source.type} source needs url"
    elif look and not _WEB.match(source.url) and not resolve(base, source.url).is_file():
        yield (*where, "url"), f"no such file: {resolve(base, source.url)}"


OUT_FOLDERS = ("editions", "bulletins", "outbox")
"""The folders the product writes in ``out/``: the outbox holds every member's messages,
the others are served."""


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _path_problems(parts: Salvage, base: Path) -> Found:
    """Where the product writes and what it serves (docs/configuration.md, "Paths").

    Every output (``feeds.path``, ``out/``, ``var/``, an SQLite database) resolves, links
    followed, inside ``site.output``; the served feeds folder shares nothing with ``out/``
    or ``var/``; inputs are not read from ``var/`` or the outbox, and the members' import
    file is not put where it would be served.
    """
    output = parts.value(("site", "output"), Path)
    feeds_path = parts.value(("feeds", "path"), str)
    if output is None or feeds_path is None:
        return
    root = _real(resolve(base, output))
    private = {"var/": _real(root / "var"), "out/": _real(root / "out")}
    for name, folder in private.items():
        if not inside(folder, root) or folder == root:
            yield ("site", "output"), (f"{root / name} leads to {folder}, outside the output "
                                       f"root {root}; it must be a folder inside it")
    for name in OUT_FOLDERS:  # written by every run: a link out of out/ writes elsewhere
        folder = _real(root / "out" / name)
        if inside(private["out/"], root) and not inside(folder, private["out/"]):
            yield ("site", "output"), (f"{root / 'out' / name} leads to {folder}, outside "
                                       f"{private['out/']}; it must be a folder inside it")
    feeds = _real(root / feeds_path)
    yield from _feeds_problems(feeds_path, feeds, root, private)
    served = (feeds, private["out/"])
    database = parts.value(("site", "database"), str) or ""
    if database.startswith("sqlite:///") and database != "sqlite:///:memory:":
        file = _real(root / database.removeprefix("sqlite:///"))
        if not inside(file, root):
            yield ("site", "database"), (f"the SQLite file {file} is outside the output root "
                                         f"{root}; it must be inside it (e.g. in var/)")
        elif any(inside(file, folder) for folder in served):
            yield ("site", "database"), (f"the SQLite file {file} would be in a served folder "
                                         "(the feeds or out/); keep it in var/")
    for where, location in _inputs(parts):
        found = _real(resolve(base, location))
        if inside(found, private["var/"]) or inside(found, private["out/"] / "outbox"):
            yield where, (f"{found} is inside var/ or the outbox, which hold private data; "
                          "read sources and bulletins from elsewhere")
    imported = parts.value(("subscribers", "import_"), str)
    if imported and any(inside(_real(resolve(base, imported)), f) for f in served):
        yield ("subscribers", "import"), (f"{_real(resolve(base, imported))} is in a served "
                                          "folder (the feeds or out/); members' addresses "
                                          "must not be served")


def _feeds_problems(given: str, feeds: Path, root: Path, private: dict[str, Path]) -> Found:
    if feeds == root:
        yield ("feeds", "path"), (f"{given!r} is the output root itself, which holds var/ "
                                  "(the signing key, the database) and out/ (the outbox); "
                                  "give the feeds a folder of their own, e.g. feeds")
    elif not inside(feeds, root):
        yield ("feeds", "path"), (f"{given!r} leads to {feeds}, outside the output "
                                  f"root {root}; it must be a folder inside it")
    else:
        for name, folder in private.items():
            if inside(feeds, folder) or inside(folder, feeds):
                yield ("feeds", "path"), (f"{given!r} ({feeds}) overlaps {name} ({folder}); "
                                          "the feeds folder is served to anyone, so it must "
                                          "share nothing with var/ or out/")


def _inputs(parts: Salvage) -> list[tuple[KeyPath, str]]:
    """The local files and folders the product reads, with the key that names each."""
    inputs: list[tuple[KeyPath, str]] = [
        (("sources", index, "path" if source.path else "url"), source.path or source.url or "")
        for index, source in parts.entries(("sources",), SourceSettings)
        if source.path or (source.url and not _WEB.match(source.url))]
    bulletins = parts.value(("bulletins",), BulletinSettings)
    if bulletins:
        inputs.append((("bulletins", "path"), bulletins.path))
    return inputs


def unwanted_characters(value: object, path: KeyPath = ()) -> Found:
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
            yield from unwanted_characters(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unwanted_characters(item, (*path, index))
