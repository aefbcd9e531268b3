"""Curating a digest draft (issue 11, section 4): an item left out is absent from every
form and never comes back, a pinned item comes first in its section, the editor's note is
above the items in the email, its text part, the web version and the PDF of every
(language, themes) variant; only a draft can be curated, and every change is audited."""

from __future__ import annotations

import email
import io
import random
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from pathlib import Path

import pytest
from pypdf import PdfReader

from digest import compose
from digest.config import DigestSettings, Environment, load_settings
from digest.errors import InputError
from digest.identifiers import VariantKey
from digest.jobs import curation
from digest.jobs.build import build
from digest.jobs.collect import collect
from digest.jobs.context import Context
from digest.jobs.curated import note_html
from digest.jobs.editions import prepare_stored, stored_edition
from digest.jobs.manual import approve, find_edition
from digest.jobs.review import approve_bulletin
from digest.jobs.run import run_once
from digest.models import PLACEHOLDERS, Edition, Item, RunReport
from digest.store import audit, editions
from digest.testing import ManualClock
from tests.conftest import SAMPLE_NOW, reset_postgres, run_digest
from tests.support import make_edition

_ACTIVE_URL = re.compile(r"""(href|src)\s*=\s*["']?\s*(javascript|data|vbscript):""",
                         re.IGNORECASE)
_HANDLER = re.compile(r"<[^>]+\son\w+\s*=", re.IGNORECASE)
NEXT_MONDAY = "2019-03-25T09:00:00+01:00"
SECRET = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
NOTE = ("**Welcome back.** The forum meets in [Glasgow](https://example.org/glasgow) "
        "next week.")


def _context(project: Path, database: str | None, now: str = SAMPLE_NOW) -> Context:
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace("approval: false", "approval: true"))
    environ = {"DIGEST_SECRET_KEY": SECRET}
    if database:
        environ["DIGEST_DATABASE_URL"] = database
    return Context(settings=load_settings(config), env=Environment.read(environ),
                   clock=ManualClock(datetime.fromisoformat(now)))


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest) -> str | None:
    """None (the project's SQLite file) or the real PostgreSQL, emptied."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    reset_postgres(url)
    return url


@pytest.fixture
def draft(project: Path) -> Iterator[Context]:
    """The sample's first weekly edition, a draft waiting for approval (on SQLite)."""
    ctx = _context(project, None)
    run_once(ctx)
    yield ctx
    ctx.close()


def _digest(ctx: Context) -> DigestSettings:
    digest = ctx.settings.digest("weekly")
    assert digest is not None
    return digest


def _edition(ctx: Context, label: str = "weekly/1") -> Edition:
    return stored_edition(ctx, _digest(ctx), find_edition(ctx, label))


def _choice(edition: Edition) -> tuple[str, str, str]:
    """Keys of an item to leave out, one to pin (the last of a section with several) and
    the item that section started with."""
    def plain(item: Item) -> bool:  # found as it is in HTML, text and PDF alike
        return not set(item.title) & set("&<>'\"")

    section = next(s for s in edition.sections
                   if len(s.items) >= 3 and plain(s.items[0]) and plain(s.items[-1]))
    left_out = next(i for s in edition.sections for i in s.items
                    if s is not section and plain(i))
    return left_out.key, section.items[-1].key, section.items[0].key


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _words(text: str) -> str:
    return " ".join(text.split())


def test_the_curation_shows_in_every_form_of_every_variant(draft: Context) -> None:
    before = _edition(draft)
    titles = {item.key: item.title for item in before.items}
    omitted, pinned, was_first = _choice(before)
    curation.omit(draft, "weekly/1", omitted, "ana@example.org")
    curation.pin(draft, "weekly/1", pinned, "ana@example.org")
    curation.set_note(draft, "weekly/1", NOTE, "ana@example.org")

    _, rendered = prepare_stored(draft, _digest(draft), find_edition(draft, "weekly/1"),
                                 revive=False)
    forms = rendered.prepared.forms
    texts = {"email html": forms.email.html, "text part": _words(forms.email.text),
             "web version": forms.web_html, "pdf": _pdf_text(forms.pdf)}
    for name, variant in rendered.prepared.variants.items():
        texts[f"{name} html"] = variant.html
        texts[f"{name} text"] = _words(variant.text)
    for form in ("email html", "text part", "web version", "pdf"):
        assert titles[pinned] in texts[form] and titles[was_first] in texts[form], form
    assert len(rendered.prepared.variants) >= 2
    assert any(VariantKey.parse(name).language for name in rendered.prepared.variants)
    for form, text in texts.items():
        assert "Welcome back." in text and "Glasgow" in text, f"no note in the {form}"
        assert titles[omitted] not in text, f"the item left out is in the {form}"
        if titles[pinned] not in text:
            continue  # a variant of other themes
        # The last mention: the email's hidden preheader lists the first titles too.
        assert text.index("Welcome back.") < text.rindex(titles[pinned]), form
        if titles[was_first] in text:
            assert text.rindex(titles[pinned]) < text.rindex(titles[was_first]), form
    assert "https://example.org/glasgow" in forms.email.html
    assert "https://example.org/glasgow" in forms.email.text  # in the text's Links list
    assert "Le mot de la rédaction" in " ".join(
        e.html for n, e in rendered.prepared.variants.items()
        if VariantKey.parse(n).language == "fr")

    # Nothing of the draft is public; the pages published when it goes out show it too.
    folder = draft.settings.out_dir / "editions" / "weekly" / "1"
    assert not folder.exists(), "a draft, curated, is still not published"
    approve(draft, find_edition(draft, "weekly/1"))
    run_once(draft)
    page = (folder / "index.html").read_text()
    assert "Welcome back." in page and titles[omitted] not in page
    assert titles[omitted] not in _pdf_text((folder / "weekly-1.pdf").read_bytes())
    assert "Welcome back." in _pdf_text((folder / "weekly-1.pdf").read_bytes())


def test_without_a_curation_nothing_changes(draft: Context) -> None:
    edition = _edition(draft)
    assert edition.note_html == ""
    first = [section.items[0].key for section in edition.sections]
    _, pinned, _ = _choice(edition)
    curation.pin(draft, "weekly/1", pinned, "ana@example.org")
    curation.unpin(draft, "weekly/1", pinned, "ana@example.org")
    assert [section.items[0].key for section in _edition(draft).sections] == first


def test_an_item_left_out_does_not_return_in_the_next_edition(project: Path,
                                                               any_store: str | None) -> None:
    ctx = _context(project, any_store)
    run_once(ctx)
    first = _edition(ctx)
    omitted = first.items[0].key
    curation.omit(ctx, "weekly/1", omitted, "ana@example.org")
    assert omitted not in find_edition(ctx, "weekly/1").item_keys
    # Nothing was approved, so the next slot takes weekly/1's items again: all but that.
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.set(datetime.fromisoformat(NEXT_MONDAY))
    run_once(ctx)
    second = find_edition(ctx, "weekly/2").item_keys
    assert omitted not in second
    assert len(set(second) & {item.key for item in first.items}) >= len(first.items) // 2
    assert find_edition(ctx, "weekly/1").status == editions.SUPERSEDED
    ctx.close()


def test_restore_puts_the_item_back_and_pinning_a_left_out_item_is_refused(
        draft: Context) -> None:
    key = _edition(draft).items[0].key
    curation.pin(draft, "weekly/1", key, "ana@example.org")
    state = curation.omit(draft, "weekly/1", key, "ana@example.org")
    assert state.curation.omitted == (key,) and state.curation.pinned == ()
    assert [item.key for item in state.omitted_items] == [key]
    with pytest.raises(InputError, match="restore it first"):
        curation.pin(draft, "weekly/1", key, "ana@example.org")
    state = curation.restore(draft, "weekly/1", key, "ana@example.org")
    assert state.curation.is_empty and key in state.row.item_keys
    assert key in {item.key for item in _edition(draft).items}


def test_only_a_digest_draft_can_be_curated_and_every_change_is_audited(
        project: Path, any_store: str | None) -> None:
    ctx = _context(project, any_store)
    approve_bulletin(ctx, "2019-03-wg-smart-social-inclusion", "cli",
                     reason="the placeholder links are known")  # so it has its edition
    run_once(ctx)
    keys = [item.key for item in _edition(ctx).items]
    with pytest.raises(InputError, match="has no item"):
        curation.omit(ctx, "weekly/1", "https://example.org/not-in-it", "ana@example.org")
    with pytest.raises(InputError, match="no edition"):
        curation.pin(ctx, "weekly/9", keys[0], "ana@example.org")
    with pytest.raises(InputError, match="only a digest's draft"):
        curation.set_note(ctx, "bulletin:2019-03-wg-smart-social-inclusion/1", NOTE, "cli")

    curation.omit(ctx, "weekly/1", keys[0], "ana@example.org")
    curation.omit(ctx, "weekly/1", keys[0], "ana@example.org")  # already: nothing recorded
    curation.pin(ctx, "weekly/1", keys[1], "ben@example.org")
    curation.set_note(ctx, "weekly/1", NOTE, "ben@example.org")
    curation.set_note(ctx, "weekly/1", "", "cli")
    with ctx.db.transaction() as connection:
        log = audit.for_target(connection, "weekly/1")
    assert [(e.action, e.actor, e.detail) for e in reversed(log)] == [
        ("omit", "ana@example.org", keys[0]), ("pin", "ben@example.org", keys[1]),
        ("note", "ben@example.org", f"{len(NOTE.encode())} bytes"),
        ("note-removed", "cli", None)]

    approve(ctx, find_edition(ctx, "weekly/1"))
    acts: list[Callable[[], object]] = [
        partial(curation.restore, ctx, "weekly/1", keys[0], "ana@example.org"),
        partial(curation.unpin, ctx, "weekly/1", keys[1], "ana@example.org"),
        partial(curation.omit, ctx, "weekly/1", keys[2], "ana@example.org"),
        partial(curation.set_note, ctx, "weekly/1", NOTE, "ana@example.org")]
    for act in acts:
        with pytest.raises(InputError, match="is approved, not a draft"):
            act()
    with ctx.db.transaction() as connection:
        assert len(audit.for_target(connection, "weekly/1")) == len(log)
    ctx.close()


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script> Read on.",
    "[Read on](javascript:alert(1)) and [this](JaVaScRiPt:alert(2))",
    '<img src="x" onerror="alert(1)"> Read on.',
    "[Read on](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    f"Read on, {PLACEHOLDERS['unsubscribe_url']}.",
])
def test_a_hostile_note_is_made_inert(draft: Context, hostile: str) -> None:
    curation.set_note(draft, "weekly/1", hostile, "ana@example.org")
    _, rendered = prepare_stored(draft, _digest(draft), find_edition(draft, "weekly/1"),
                                 revive=False)
    forms = rendered.prepared.forms
    for html in (forms.email.html, forms.web_html):
        assert "Read on" in html
        assert not re.search(r"<script", html, re.IGNORECASE)
        assert not _ACTIVE_URL.search(html) and not _HANDLER.search(html)
    assert PLACEHOLDERS["unsubscribe_url"] not in forms.web_html
    # The note adds exactly one unsubscribe marker less than it holds: none of its own.
    assert forms.email.html.count(PLACEHOLDERS["unsubscribe_url"]) == _edition_markers(draft)


def _edition_markers(ctx: Context) -> int:
    curation.set_note(ctx, "weekly/1", "", "cli")
    _, rendered = prepare_stored(ctx, _digest(ctx), find_edition(ctx, "weekly/1"),
                                 revive=False)
    return rendered.prepared.forms.email.html.count(PLACEHOLDERS["unsubscribe_url"])


@pytest.mark.parametrize("size", [curation.NOTE_LIMIT + 1, 100 * 1024])
def test_a_note_over_the_limit_is_refused(draft: Context, size: int) -> None:
    with pytest.raises(InputError, match="over the 8192 allowed"):
        curation.set_note(draft, "weekly/1", "é" * (size // 2 + 1), "ana@example.org")
    assert curation.current(draft, "weekly/1").curation.note is None


def test_digest_curate_on_the_command_line(project: Path) -> None:
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace("approval: false", "approval: true"))
    assert run_digest(project, "run", "--once").returncode == 0
    listing = run_digest(project, "curate", "weekly/1")
    assert listing.returncode == 0, listing.stderr
    key = listing.stdout.splitlines()[1].split()[0]
    (project / "note.md").write_text(NOTE)
    done = run_digest(project, "curate", "weekly/1", "--omit", key, "--note-file", "note.md")
    assert done.returncode == 0, done.stderr
    assert f"left out {key}" in done.stdout and "note: " in done.stdout
    folder = project / "out" / "editions" / "weekly" / "1"
    assert not folder.exists(), "the curated draft is not published"
    assert run_digest(project, "approve", "weekly/1").returncode == 0
    refused = run_digest(project, "curate", "weekly/1", "--restore", key)
    assert refused.returncode == 2 and "not a draft" in refused.stderr
    sent = run_digest(project, "run", "--once")
    assert sent.returncode == 0, sent.stdout
    assert str(folder / "email.txt") in sent.stdout, "the run says where it published it"
    assert "Welcome back." in (folder / "email.txt").read_text()
    texts = [_plain_part(p.read_bytes()) for p in (project / "out" / "outbox").glob("*.eml")]
    weekly = [text for subject, text in texts if "weekly" in subject]
    assert weekly and all("Welcome back." in text for text in weekly)


def _plain_part(data: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(data)
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return str(message["Subject"]), payload.decode(part.get_content_charset() or "utf-8")
    return str(message["Subject"]), ""


def _listed(page: str) -> list[str]:
    return re.findall(r'<article class="item">\s*<h3>(.*?)</h3>', page, re.DOTALL)


def test_the_web_version_of_a_capped_draft_still_lists_what_its_email_cut(
        project: Path, tmp_path: Path) -> None:
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace("max_items: 40", "max_items: 5"))
    ctx = _context(project, None)
    # What the upcoming edition's web version lists (built where nobody is served).
    collect(ctx, RunReport())
    build(ctx, tmp_path / "built")
    composed = _listed((tmp_path / "built" / "editions" / "weekly" / "1" / "index.html")
                       .read_text())
    run_once(ctx)
    row = find_edition(ctx, "weekly/1")
    assert len(row.item_keys) == 5 and len(composed) > 5
    key = row.item_keys[0]
    state = curation.omit(ctx, "weekly/1", key, "ana@example.org")
    title = state.omitted_items[0].title
    approve(ctx, find_edition(ctx, "weekly/1"))
    run_once(ctx)  # sends it, and publishes its web version
    page = ctx.settings.out_dir / "editions" / "weekly" / "1" / "index.html"
    after = _listed(page.read_text())
    assert sorted(after) == sorted(t for t in composed if title not in t)
    ctx.close()


@pytest.mark.parametrize("seed", range(6))
def test_pins_come_first_in_their_section_in_pin_order_and_nothing_else_moves(
        seed: int) -> None:
    edition = make_edition()
    keys = [item.key for item in edition.items]
    pinned = random.Random(seed).sample(keys, k=min(len(keys), seed + 1))
    curated = compose.curate(edition, pinned=pinned, note_html="<p>Hello</p>")
    assert [s.kind for s in curated.sections] == [s.kind for s in edition.sections]
    for before, after in zip(edition.sections, curated.sections, strict=True):
        mine = [key for key in pinned if key in {i.key for i in before.items}]
        rest = [i.key for i in before.items if i.key not in pinned]
        assert [i.key for i in after.items] == mine + rest
    variant = compose.variant_of(curated, VariantKey.of(["cooperation"]))
    assert variant.edition.note_html == "<p>Hello</p>"
    assert compose.curate(edition) is edition


@pytest.mark.parametrize("level", range(1, 7))
def test_the_note_s_headings_sit_under_its_own(level: int) -> None:
    html = note_html(f"{'#' * level} Agenda\n\nText.")
    assert re.fullmatch(r"<h([34])>Agenda</h\1>\s*<p>Text.</p>", html), html
