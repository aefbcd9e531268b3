"""The bulletins folder's files as the console's editor reads and writes them.

A coordinator may edit the same file in the browser and with any editor, so every save
names the version it was based on (the SHA-256 of the file's bytes when the form was
loaded): a save based on another version than the one on disk is refused as a
``Conflict`` carrying both texts, and the submitted text is shown back, never lost. A text
is checked first by the loader a run uses (``digest.bulletins.parse_bulletin``: the same
``FILE:LINE: key: what`` problems, the same 128 KB limit); one it refuses writes nothing.
A file is written whole (``digest.files.write_atomic``): a reader sees the old or the new
text, never half of one; each write is in the audit log (``edit`` or ``create``, target
``bulletin:<slug>``, the file's name and new version). A save of the very bytes on disk
writes and records nothing. Saves of this process run one at
a time, so two coordinators' saves based on one version cannot both pass the check; an
editor writing the file in the instant between the check and the rename is the one race
left.

A bulletin is found by its slug as a run finds it: the front matter's ``slug``, else the
file name without ``.md``; a slug that is not one (``../x``, a NUL, 200 characters) finds
nothing and touches no file. A new bulletin's file is ``<slug>.md`` in the folder, refused
when the slug is not one, is taken, or names a file that exists.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import yaml
from markupsafe import Markup

from digest import markdown, yaml_loader
from digest.bulletins import MAX_BULLETIN_BYTES, content_hash, parse_body, parse_bulletin
from digest.errors import InputError
from digest.files import write_atomic
from digest.identifiers import SLUG, EditionSeries, slugify
from digest.jobs.bulletin_form import Draft, Parsed, Problem, compose, parse, problems_of
from digest.jobs.context import Context
from digest.reading import TooLargeError, read_bounded
from digest.render.lint import lint_bulletin
from digest.render.templating import base_context, render_template
from digest.render.views import SectionView
from digest.store import audit

MAX_SLUG_LENGTH = 80  # a file name and a URL segment anyone can read
RESERVED_SLUGS = frozenset({"new"})  # /admin/bulletins/new is the page that makes one
_SAVING = threading.Lock()


@dataclass(frozen=True)
class BulletinText:
    """One bulletin file as it is on disk."""

    slug: str
    name: str  # the file's name in the folder
    text: str
    version: str  # SHA-256 of the file's bytes, hex
    parsed: Parsed
    problems: tuple[Problem, ...]  # what a run would refuse in it; empty when it loads
    lint: tuple[str, ...] = ()  # what to fix before sending (placeholder links...), by line


@dataclass(frozen=True)
class Saved:
    """Written: the file as it now is (its slug may have changed with the front matter).
    ``changed`` False: the text was the file's very bytes, so nothing was written nor
    recorded (an unchanged Save is not an edit)."""

    file: BulletinText
    changed: bool = True


@dataclass(frozen=True)
class Conflict:
    """Refused: the file changed since the form was loaded (``on_disk`` None: it is gone).
    ``submitted`` is the text the save would have written."""

    on_disk: BulletinText | None
    submitted: str
    draft: Draft


@dataclass(frozen=True)
class Invalid:
    """Refused before writing: what the loader (or the file's name) found wrong."""

    problems: tuple[Problem, ...]
    submitted: str
    draft: Draft


SaveResult = Saved | Conflict | Invalid


class UnknownBulletinError(InputError):
    """No file of the bulletins folder has this slug (or the slug is not one)."""


def folder_of(ctx: Context) -> Path:
    """The configured bulletins folder; ``InputError`` when the site has none."""
    if ctx.settings.bulletins is None:
        raise InputError("no bulletins folder is configured (bulletins: {path: ...})")
    return ctx.settings.resolve(ctx.settings.bulletins.path)


def is_slug(text: str) -> bool:
    """Whether ``text`` may name a bulletin (and so a file of the folder)."""
    return len(text) <= MAX_SLUG_LENGTH and bool(SLUG.match(text)) and text.isascii()


def version_of(data: bytes) -> str:
    """A file's version: the hash an approval is tied to (``digest.bulletins``)."""
    return content_hash(data)


def find(folder: Path, slug: str) -> Path | None:
    """The file a run would load as bulletin ``slug`` (the first by name, as a run keeps
    the first of two files with one slug); None when none has it."""
    if not is_slug(slug) or not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.md"), key=lambda p: p.name):
        if path.is_file() and _slug_of(path) == slug:
            return path
    return None


def _slug_of(path: Path) -> str:
    """The slug a run gives the file; a file it cannot read keeps its name's slug, so a
    broken file can still be opened and fixed."""
    fallback = slugify(path.stem) or "bulletin"
    try:
        split = markdown.split_front_matter(
            read_bounded(path, MAX_BULLETIN_BYTES).decode("utf-8-sig"))
        _, meta = yaml_loader.load(split.front_matter) if split else (None, None)
    except (OSError, TooLargeError, UnicodeDecodeError, yaml.YAMLError):
        return fallback
    slug = meta.get("slug") if isinstance(meta, dict) else None
    return slug if isinstance(slug, str) and is_slug(slug) else fallback


def open_bulletin(ctx: Context, slug: str) -> BulletinText:
    """Bulletin ``slug``'s file for the form; ``UnknownBulletinError`` when there is none,
    ``InputError`` when it cannot be edited here (over 128 KB, not UTF-8)."""
    path = find(folder_of(ctx), slug)
    if path is None:
        raise UnknownBulletinError(f"no bulletin {slug[:MAX_SLUG_LENGTH]!r} in the folder")
    return _read(ctx, path)


def _read(ctx: Context, path: Path) -> BulletinText:
    try:
        data = read_bounded(path, MAX_BULLETIN_BYTES)
        text = data.decode("utf-8-sig").replace("\r\n", "\n")
    except TooLargeError as exc:
        raise InputError(f"{path.name}: (file): {exc} for a bulletin") from None
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: (file): not UTF-8: edit it with a text editor "
                         "that saves UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path.name}: (file): unreadable: {exc.strerror or exc}") from None
    try:
        bulletin = parse_bulletin(data, path.name, path.stem, ctx.settings)
    except InputError as exc:
        return BulletinText(_slug_of(path), path.name, text, version_of(data),
                            parse(text, ctx.settings), problems_of(str(exc)))
    return BulletinText(bulletin.slug, path.name, text, version_of(data),
                        parse(text, ctx.settings), (),
                        tuple(str(problem) for problem in lint_bulletin(bulletin)))


def _check(ctx: Context, data: bytes, name: str) -> tuple[Problem, ...]:
    """The loader's verdict on a text about to be the file ``name``."""
    try:
        parse_bulletin(data, name, name.removesuffix(".md"), ctx.settings)
    except InputError as exc:
        return problems_of(str(exc))
    return ()


def blank(ctx: Context) -> Parsed:
    """A new bulletin's form: empty fields, the site's language."""
    return Parsed(Draft({"language": ctx.settings.site.language}), "", (), False)


def save(ctx: Context, slug: str, draft: Draft, based_on: str, actor: str) -> SaveResult:
    """Write ``draft`` over bulletin ``slug``'s file if it is still at version
    ``based_on``; refuse it (writing nothing) on a conflict or a problem. ``actor`` (a
    coordinator's email) is recorded in the audit log with the new version."""
    folder = folder_of(ctx)
    with _SAVING:
        path = find(folder, slug)
        if path is None:
            return Conflict(None, compose(draft), draft)
        current = _read(ctx, path)
        text = compose(draft, current.parsed)
        if current.version != based_on:
            return Conflict(current, text, draft)
        data = text.encode("utf-8")
        if version_of(data) == current.version:  # the bytes on disk: nothing to write
            return Saved(current, changed=False)
        problems = _check(ctx, data, path.name) or _slug_problems(folder, path, draft)
        if problems:
            return Invalid(problems, text, draft)
        return Saved(_write(ctx, path, data, actor, audit.Action.EDIT))


def _write(ctx: Context, path: Path, data: bytes, actor: str, action: audit.Action) -> BulletinText:
    """Write the file and its audit row (none when the write fails)."""
    with ctx.db.transaction() as connection:
        write_atomic(path, data)
        written = _read(ctx, path)
        audit.record(connection, at=ctx.clock.now(), actor=actor, action=action,
                     target=str(EditionSeries.of_bulletin(written.slug)),
                     detail=f"{path.name} sha256:{written.version[:16]}")
    return written


def create(ctx: Context, slug: str, draft: Draft, actor: str) -> SaveResult:
    """Write a new bulletin file ``<slug>.md``; refused when the slug is not one, is
    taken, or the text has problems."""
    folder = folder_of(ctx)
    draft = Draft({**draft.fields, "slug": ""}, draft.themes, draft.body)  # the file's name
    text = compose(draft)
    with _SAVING:
        name_problem = _new_name_problem(folder, slug)
        if name_problem:
            return Invalid((Problem("slug", name_problem),), text, draft)
        path = folder / f"{slug}.md"
        data = text.encode("utf-8")
        problems = _check(ctx, data, path.name) or _slug_problems(folder, path, draft)
        if problems:
            return Invalid(problems, text, draft)
        return Saved(_write(ctx, path, data, actor, audit.Action.CREATE))


def _new_name_problem(folder: Path, slug: str) -> str:
    if not is_slug(slug):
        return (f"slug: expected lower case letters, digits and hyphens, at most "
                f"{MAX_SLUG_LENGTH} characters")
    if slug in RESERVED_SLUGS:
        return f"slug: {slug!r} is reserved: choose another"
    if not folder.is_dir():
        return f"{folder}: no such bulletin folder"
    if (folder / f"{slug}.md").exists() or find(folder, slug) is not None:
        return f"slug: {slug!r} is already used by a bulletin of the folder"
    return ""


def _slug_problems(folder: Path, path: Path, draft: Draft) -> tuple[Problem, ...]:
    """A front-matter slug another file already has (a run would skip this one), or one
    that names the new-bulletin page."""
    slug = draft.fields.get("slug", "")
    if not slug:
        return ()
    if slug in RESERVED_SLUGS:
        return (Problem("slug", f"{path.name}: slug: {slug!r} is reserved: choose another"),)
    other = find(folder, slug)
    if other is not None and other != path:
        return (Problem("slug", f"{path.name}: slug: {slug!r} is already used by "
                                f"{other.name}"),)
    return ()


def preview_html(ctx: Context, body: str, language: str = "") -> str:
    """The body's introduction and sections as the web version shows them, for the
    editor's preview (the front matter may still be wrong: it is not needed here). The
    preview's own words are in ``language``, the console's (the coordinator's), not the
    bulletin's: the body is shown as written."""
    intro, sections = parse_body(body[:MAX_BULLETIN_BYTES])
    views = [SectionView(s.number, s.title, Markup(s.body_html), (), Markup(s.lead_html),
                         Markup(s.list_items_html)) for s in sections]
    context = base_context(ctx.settings, language or None)
    context.update(intro_html=Markup(intro), sections=views)
    return render_template(ctx.settings, "web/admin/editor_preview.html.j2", context)
