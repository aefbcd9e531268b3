"""What the console's preview pages show of a stored edition or a bulletin file: the exact
email a member (or a variant) gets, its subject, preheader, text part, PDF, size against
Gmail's clipping budget and the lint problems with their lines.

Everything is rendered by the run's own functions (``editions.stored_edition``,
``prepare.variant_email``, ``bulletins.with_upcoming``, the render stage, the outbox's
``MessageFactory`` through ``member_message``) and never stored: a preview changes nothing.

Live refresh polls a *fingerprint* of what the preview depends on: for an edition, its row,
curation and note (``store.fingerprints``); for a bulletin, the folder's listing (names,
sizes, modification times) and the file's SHA-256; for both, the config file's time. It
costs a few small reads. Renders are cached by fingerprint, so a poll that finds nothing
changed, or a second frame of the same email, renders nothing; after a change the email is
rendered alone (tens of milliseconds) and the PDF only when asked for.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from digest.bulletins import load_bulletin, load_bulletins
from digest.config import DigestSettings
from digest.errors import InputError
from digest.identifiers import EditionSeries, VariantKey, slugify
from digest.jobs.bulletins import with_upcoming
from digest.jobs.context import Context
from digest.jobs.editions import stored_edition
from digest.jobs.isolation import render_leaving_out
from digest.jobs.manual import find_edition
from digest.jobs.member_message import Audience, Chosen, delivered, resolve
from digest.jobs.prepare import variant_email
from digest.jobs.problems import bulletin_problems, edition_problems
from digest.links import bulletin_links, edition_links
from digest.models import Bulletin, Edition, RenderedEmail
from digest.render.email import render_bulletin_email
from digest.render.lint import GMAIL_CLIP_BYTES, Problem
from digest.render.pdf import render_bulletin_pdf, render_edition_pdf
from digest.store import fingerprints

__all__ = ["EVERYONE", "Audience", "Preview", "Previews", "in_dark_mode"]
T = TypeVar("T")
EVERYONE = Audience()  # no member nor variant chosen: the full email
_DARK_QUERY = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)", re.IGNORECASE)
_SCHEMES = re.compile(r'(<meta\s+name="color-scheme"\s+content=")light dark(")')


@dataclass(frozen=True)
class Preview:
    """One email as its recipient gets it, and what the coordinator must know of it."""

    target: str  # weekly/3, bulletin:SLUG
    title: str
    status: str  # the edition's status; a bulletin file's is the review helper's
    variant: str  # the variant key's stored text (``all``, ``fr:culture``...)
    recipient: str
    note: str  # why the chosen member gets no message, or ""
    subject: str
    preheader: str
    html: str  # "" when the chosen variant gets no message
    text: str
    problems: tuple[Problem, ...]
    fingerprint: str
    source: str = ""  # a bulletin's file
    budget: int = GMAIL_CLIP_BYTES

    @property
    def size(self) -> int:
        """The HTML part's size in bytes, as the member's mail client receives it."""
        return len(self.html.encode("utf-8"))


class _Cache:
    """A small thread-safe LRU of renders by (target, fingerprint, ...): the web server
    answers from several threads, and an old fingerprint's entries simply age out."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, ...], object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]  # type: ignore[return-value]
        value = make()  # outside the lock: two threads may render once each, harmlessly
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


class Previews:
    """The previews of one site; one per web app (its cache lives as long as the app)."""

    def __init__(self, ctx: Context, cache_size: int = 64) -> None:
        self.ctx = ctx
        self._cache = _Cache(cache_size)

    # ---------------------------------------------------------------- editions

    def edition_fingerprint(self, digest_id: str, number: int) -> str:
        """What the edition's preview depends on, cheaply; changes when the draft does."""
        row = find_edition(self.ctx, _label(digest_id, number))
        with self.ctx.db.transaction() as connection:
            state = fingerprints.edition_state(connection, row.id) or "gone"
        return _digest_text(state, self._config_stamp())

    def edition(self, digest_id: str, number: int, audience: Audience = EVERYONE) -> Preview:
        """The edition's email as ``audience`` gets it (``InputError``: no such edition,
        member, theme or language)."""
        label = _label(digest_id, number)
        fingerprint = self.edition_fingerprint(digest_id, number)
        digest = self._digest(digest_id)
        chosen = resolve(self.ctx, audience, digest_id)
        edition, status = self._cache.get(("edition", label, fingerprint),
                                          partial(self._stored, label, digest))
        email, problems = self._cache.get(
            ("email", label, fingerprint, str(chosen.key)),
            partial(self._edition_email, edition, chosen.key))
        return self._preview(label, edition.title, status, chosen, email, problems,
                             fingerprint, series=digest_id)

    def edition_pdf(self, digest_id: str, number: int) -> bytes:
        """The edition's PDF (one for every member: their emails link to it)."""
        label = _label(digest_id, number)
        fingerprint = self.edition_fingerprint(digest_id, number)
        digest = self._digest(digest_id)
        edition, _ = self._cache.get(("edition", label, fingerprint),
                                     partial(self._stored, label, digest))
        links = edition_links(self.ctx.settings, digest_id, number)
        return self._cache.get(("pdf", label, fingerprint), lambda: render_leaving_out(
            lambda e: render_edition_pdf(e, self.ctx.settings, links), edition)[0])

    def _stored(self, label: str, digest: DigestSettings) -> tuple[Edition, str]:
        row = find_edition(self.ctx, label)
        return stored_edition(self.ctx, digest, row), str(row.status)

    def _edition_email(self, edition: Edition, key: VariantKey,
                       ) -> tuple[RenderedEmail | None, tuple[Problem, ...]]:
        # The member's own web version, in their language: the message a run sends them.
        links = edition_links(self.ctx.settings, edition.digest_id, edition.number,
                              key.language)
        email, _, left_out = render_leaving_out(
            lambda e: variant_email(self.ctx, e, key, links), edition)
        if email is None:
            return None, ()
        return email, tuple(edition_problems(edition.digest_id, edition.number, email,
                                             left_out))

    def _digest(self, digest_id: str) -> DigestSettings:
        digest = self.ctx.settings.digest(digest_id)
        if digest is None:
            raise InputError(f"no digest {digest_id!r} in the config")
        return digest

    # ---------------------------------------------------------------- bulletins

    def bulletin_fingerprint(self, slug: str) -> str:
        """The folder's listing, the bulletin file's SHA-256 and the config's time."""
        folder = self._bulletins_folder()
        listing = _listing(folder)
        path = self._bulletin_paths(folder, listing).get(slug)
        content = hashlib.sha256(path.read_bytes()).hexdigest() if path else "missing"
        return _digest_text(repr(listing), content, self._config_stamp())

    def bulletin(self, slug: str, audience: Audience = EVERYONE) -> Preview:
        """The bulletin's email as ``audience``'s member gets it (a bulletin has one
        variant); ``InputError`` when the file is missing or broken (its lines said)."""
        fingerprint = self.bulletin_fingerprint(slug)
        settings = self.ctx.settings
        follows = settings.bulletins.audience if settings.bulletins else None
        chosen = resolve(self.ctx, audience, follows)
        bulletin, email, problems = self._cache.get(
            ("bulletin", slug, fingerprint), partial(self._bulletin_email, slug))
        note = chosen.note
        if chosen.member is not None and not note and not chosen.member.follows(
                bulletin.themes):  # its themes narrow its audience (jobs.bulletins)
            note = (f"{chosen.member.email} follows none of the bulletin's themes "
                    f"({', '.join(bulletin.themes)}): they get no message")
        chosen = Chosen(VariantKey.everything(), chosen.member, note)
        return self._preview(str(EditionSeries.of_bulletin(slug)), bulletin.title, "",
                             chosen, email, problems, fingerprint,
                             series=str(EditionSeries.of_bulletin(slug)),
                             source=bulletin.source_path)

    def bulletin_pdf(self, slug: str) -> bytes:
        """The bulletin's PDF."""
        fingerprint = self.bulletin_fingerprint(slug)
        bulletin, _, _ = self._cache.get(("bulletin", slug, fingerprint),
                                         partial(self._bulletin_email, slug))
        links = bulletin_links(self.ctx.settings, slug)
        return self._cache.get(("bulletin-pdf", slug, fingerprint),
                               lambda: render_bulletin_pdf(bulletin, self.ctx.settings, links))

    def _bulletin_email(self, slug: str) -> tuple[Bulletin, RenderedEmail, tuple[Problem, ...]]:
        bulletin = with_upcoming(self.ctx, self._load_bulletin(slug))
        email = render_bulletin_email(bulletin, self.ctx.settings,
                                      bulletin_links(self.ctx.settings, slug))
        return bulletin, email, tuple(bulletin_problems(bulletin, email, self.ctx.settings))

    def _load_bulletin(self, slug: str) -> Bulletin:
        """The bulletin of this slug; a file named after it that does not load says why
        (the coordinator is editing it: the page shows the problem and its line)."""
        folder = self._bulletins_folder()
        path = self._bulletin_paths(folder, _listing(folder)).get(slug)
        if path is not None:
            return load_bulletin(path, self.ctx.settings)
        for candidate in sorted(folder.glob("*.md")):
            if slugify(candidate.stem) == slug:
                load_bulletin(candidate, self.ctx.settings)  # raises its InputError
        raise InputError(f"no bulletin {slug!r} in {folder}")

    def _bulletin_paths(self, folder: Path, listing: tuple[tuple[str, int, int], ...],
                        ) -> dict[str, Path]:
        """Each loadable bulletin's file by slug, read again when the listing changes."""
        def load() -> dict[str, Path]:
            loaded = load_bulletins(folder, self.ctx.settings)
            return {b.slug: Path(b.source_path) for b in loaded.bulletins}

        return self._cache.get(("paths", str(folder), repr(listing)), load)

    def _bulletins_folder(self) -> Path:
        settings = self.ctx.settings
        if settings.bulletins is None:
            raise InputError("no bulletins folder in the config")
        return settings.resolve(settings.bulletins.path)

    # ---------------------------------------------------------------- both

    def _preview(self, target: str, title: str, status: str, chosen: Chosen,
                 email: RenderedEmail | None, problems: tuple[Problem, ...],
                 fingerprint: str, *, series: str, source: str = "") -> Preview:
        if email is None:
            return Preview(target=target, title=title, status=status,
                           variant=str(chosen.key), recipient="",
                           note=chosen.note or "none of these themes has an item in this "
                           "edition: no message", subject="", preheader="", html="", text="",
                           problems=(), fingerprint=fingerprint, source=source)
        message = delivered(self.ctx, email, series, target, chosen.member)
        return Preview(target=target, title=title, status=status, variant=str(chosen.key),
                       recipient=message.recipient, note=chosen.note, subject=message.subject,
                       preheader=email.preheader, html=message.html, text=message.text,
                       problems=problems, fingerprint=fingerprint, source=source)

    def _config_stamp(self) -> str:
        try:
            stat = self.ctx.settings.config_path.stat()
        except OSError:
            return "no config file"
        return f"{stat.st_mtime_ns}:{stat.st_size}"


def in_dark_mode(html: str) -> str:
    """The email as a mail client in dark mode shows it: the email's own dark-mode rules
    made unconditional and its colour scheme dark, so a frame shows it whatever the
    coordinator's system prefers (a sandboxed frame cannot be told to emulate it)."""
    return _SCHEMES.sub(r"\1dark\2", _DARK_QUERY.sub("@media all", html), count=1)


def _label(digest_id: str, number: int) -> str:
    return f"{digest_id}/{number}"


def _listing(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, size, modification time) of each ``*.md`` file: a cheap change detector."""
    found = []
    for path in folder.glob("*.md"):
        try:
            stat = path.stat()
        except OSError:
            continue  # removed in between
        found.append((path.name, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(found))


def _digest_text(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]
