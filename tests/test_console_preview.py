"""The console's preview (issue 11, section 2): the email each member gets of a stored
edition or a bulletin file, exactly as a run sends it; variants by language and themes; the
lint problems with their lines; a fingerprint that follows the file and the draft; the
pages behind sign-in, usable without script, axe-clean and refreshed live in Chromium."""

from __future__ import annotations

import email
import email.policy
import html
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from digest.config import Environment, load_settings
from digest.errors import InputError
from digest.jobs.console_preview import Audience, Previews
from digest.jobs.context import Context
from digest.jobs.delivery import send_edition
from digest.jobs.editions import stored_edition
from digest.jobs.forms import sample_recipient
from digest.jobs.manual import approve, find_edition, stored_emails
from digest.jobs.outbox import recipient_for
from digest.models import RunReport, SubscriberStatus
from digest.store import subscribers
from digest.store.schema import curations, edition_notes
from digest.testing import ManualClock, MemoryTransport
from tests.admin_client import signed_in
from tests.conftest import ROOT, reset_postgres, run_digest
from tests.web_app_server import serving

NOW = datetime(2019, 3, 18, 7, 30, tzinfo=UTC)
SLUG = "2019-03-wg-smart-social-inclusion"
FIXTURE = ROOT / "tests" / "fixtures" / "render" / f"{SLUG}.md"
CORA = "cora@example.org"


def make_project(folder: Path, database_url: str | None = None) -> Path:
    """The sample project with ``approval: true``, a coordinator and the fixture bulletin,
    after one run: the draft weekly/1 waits for approval."""
    shutil.copy(ROOT / "schedules.yaml", folder / "schedules.yaml")
    shutil.copytree(ROOT / "sample", folder / "sample")
    shutil.copy(FIXTURE, folder / "sample" / "bulletins" / FIXTURE.name)
    config = folder / "schedules.yaml"
    text = config.read_text().replace("approval: false", "approval: true")
    assert "\ncoordinators:\n" in text  # the sample's own coordinator; Cora joins
    config.write_text(text.replace("\ncoordinators:\n", "\ncoordinators:\n"
                                   f"  - {{email: {CORA}, name: Cora, role: editor}}\n"))
    env = {"DIGEST_DATABASE_URL": database_url} if database_url else None
    result = run_digest(folder, "run", "--once", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "weekly/1: draft of" in result.stdout
    return folder


def make_context(project: Path, database_url: str | None = None) -> Context:
    return Context(settings=load_settings(project / "schedules.yaml"),
                   env=Environment(database_url, None, None, None, None),
                   clock=ManualClock(NOW))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    ctx = make_context(make_project(tmp_path_factory.mktemp("preview")))
    yield ctx
    ctx.close()


def _parts(data: bytes) -> tuple[str, str, str]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    return str(message["Subject"]), html_part.get_content(), text_part.get_content()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_each_members_preview_is_the_message_a_run_sends_them(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    url = None
    if backend == "postgres":
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
    ctx = make_context(make_project(tmp_path, url), url)
    try:
        previews = Previews(ctx)
        row = find_edition(ctx, "weekly/1")
        with ctx.db.transaction() as connection:
            members = subscribers.active_for(connection, "weekly")
            # A curated draft (an item left out, one pinned, a note): whatever the run
            # makes of it, the preview must make the same.
            connection.execute(curations.insert(), [
                {"digest_id": "weekly", "edition_id": row.id, "item_key": key,
                 "action": action, "actor": CORA, "at": NOW}
                for key, action in zip(row.item_keys[:2], ("omit", "pin"), strict=True)])
            connection.execute(edition_notes.insert().values(
                edition_id=row.id, markdown="**Editor's note** for this week", actor=CORA,
                at=NOW))
        shown = {m.email: previews.edition("weekly", 1, Audience(member=m.email))
                 for m in members}
        assert len({p.variant for p in shown.values()}) >= 3  # languages and themes differ
        approve(ctx, row)
        row = find_edition(ctx, "weekly/1")
        transport = MemoryTransport()
        send_edition(ctx, row, stored_emails(ctx, row, revive=True, report=RunReport()),
                     transport)
        for member in members:
            preview, sent = shown[member.email], transport.to([member.email])
            if not preview.html:  # none of their themes has an item: nothing is sent
                assert not sent and preview.note
                continue
            assert len(sent) == 1
            # The same message but for the token links: the preview's stand-ins, never
            # the member's own (they would act on the member's subscription).
            own = recipient_for(ctx, member, "weekly")  # its link stops the weekly digest
            stand_in = sample_recipient(ctx)
            real = _parts(sent[0].data)
            assert own.unsubscribe_url in real[1] and own.preferences_url in real[1]
            assert (preview.subject, preview.html, preview.text) == tuple(
                part.replace(own.unsubscribe_url, stand_in.unsubscribe_url)
                .replace(own.preferences_url, stand_in.preferences_url) for part in real)
            for token_url in (own.unsubscribe_url, own.preferences_url):
                token = token_url.rsplit("/", 1)[1]
                assert token not in preview.html and token not in preview.text
            assert stand_in.unsubscribe_url in preview.html
            assert preview.recipient == sent[0].recipient
            assert "for this week" in preview.html and "for this week" in preview.text
        assert sum(bool(p.html) for p in shown.values()) == len(transport.sent)
    finally:
        ctx.close()


def test_a_member_who_gets_nothing_is_told_and_unknown_choices_refused(site: Context) -> None:
    previews = Previews(site)
    address = "claire.martin@example.com"
    with site.db.transaction() as connection:
        subscribers.set_status(connection, address, SubscriberStatus.UNSUBSCRIBED)
    try:
        preview = previews.edition("weekly", 1, Audience(member=address))
        assert "unsubscribed" in preview.note and preview.recipient == address
        bulletin = previews.bulletin(SLUG, Audience(member=address))
        assert "unsubscribed" in bulletin.note
    finally:
        with site.db.transaction() as connection:
            subscribers.set_status(connection, address, SubscriberStatus.ACTIVE)
    assert not previews.edition("weekly", 1, Audience(member=address)).note
    for wrong in (Audience(member="nobody@example.org"), Audience(themes=("no-such-theme",)),
                  Audience(language="not a language")):
        with pytest.raises(InputError):
            previews.edition("weekly", 1, wrong)


def test_a_bulletin_previewed_as_a_member_outside_its_themes_says_they_get_nothing(
        site: Context) -> None:
    """The fixture bulletin is of economy and cooperation: a member of other themes only is
    told they get no message; one of its themes, or of every theme, gets it."""
    previews = Previews(site)
    for address in ("jan.devries@example.org", "zoe.mueller@example.com"):
        note = previews.bulletin(SLUG, Audience(member=address)).note
        assert "none of the bulletin's themes" in note, address
    for address in ("francois.lefevre@example.net", "anna.kowalska@example.org"):
        assert not previews.bulletin(SLUG, Audience(member=address)).note, address


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_a_variant_is_in_its_language_with_only_its_themes(site: Context,
                                                           language: str) -> None:
    previews = Previews(site)
    digest = site.settings.digest("weekly")
    assert digest is not None
    edition = stored_edition(site, digest, find_edition(site, "weekly/1"))
    full = previews.edition("weekly", 1, Audience(language=language))
    assert f'<html lang="{language}"' in full.html
    for theme in site.settings.themes:
        preview = previews.edition("weekly", 1, Audience(language=language, themes=(theme,)))
        wanted = [i for i in edition.items if theme in i.themes]
        if not wanted:
            assert not preview.html and preview.note
            continue
        assert f'<html lang="{language}"' in preview.html
        assert preview.variant == (f"{language}:{theme}" if language != "en" else theme)
        for item in edition.items:
            assert item.link, item.title  # each sample item links to its page
            assert (f'href="{html.escape(item.link)}"' in preview.html) == (item in wanted), \
                (theme, item.title)


def test_the_sample_bulletins_placeholder_links_are_listed_with_their_lines(
        site: Context) -> None:
    preview = Previews(site).bulletin(SLUG)
    lines = Path(preview.source).read_text(encoding="utf-8").splitlines()
    placeholders = [p for p in preview.problems if "'#'" in p.message]
    assert len(placeholders) == sum(line.count("](#)") for line in lines) == 7
    for problem in placeholders:
        file, _, number = problem.location.rpartition(":")
        assert file == preview.source
        assert "](#)" in lines[int(number) - 1]
    client, _ = signed_in(site, CORA)
    page = client.get(f"/admin/bulletins/{SLUG}").text
    for problem in placeholders:
        assert html.escape(problem.location) in page
    assert page.count("placeholder") >= 7


def test_the_bulletin_fingerprint_and_preview_follow_the_file(site: Context) -> None:
    previews = Previews(site)
    path = Path(previews.bulletin(SLUG).source)
    original, stat = path.read_bytes(), path.stat()
    before = previews.bulletin_fingerprint(SLUG)
    assert previews.bulletin_fingerprint(SLUG) == before
    try:
        # Same size, same modification time: only the content tells.
        path.write_bytes(original.replace(b"title: Updates from", b"title: Upd4tes from"))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert previews.bulletin_fingerprint(SLUG) != before
        assert previews.bulletin(SLUG).subject.startswith("Upd4tes from")
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert previews.bulletin_fingerprint(SLUG) == before
    assert previews.bulletin(SLUG).subject.startswith("Updates from")


def test_the_edition_fingerprint_follows_the_draft(site: Context) -> None:
    previews = Previews(site)
    first = previews.edition_fingerprint("weekly", 1)
    seen = {first}
    row = find_edition(site, "weekly/1")
    changes = [
        edition_notes.insert().values(edition_id=row.id, markdown="A note", actor=CORA,
                                      at=NOW),
        edition_notes.update().values(markdown="Another note"),
        curations.insert().values(digest_id="weekly", edition_id=row.id,
                                  item_key=row.item_keys[0], action="omit", actor=CORA,
                                  at=NOW),
        curations.update().values(action="pin"),
    ]
    for change in changes:
        with site.db.transaction() as connection:
            connection.execute(change)
        fingerprint = previews.edition_fingerprint("weekly", 1)
        assert fingerprint not in seen
        seen.add(fingerprint)
    with site.db.transaction() as connection:  # back as it was: the same fingerprint
        connection.execute(edition_notes.delete())
        connection.execute(curations.delete())
    assert previews.edition_fingerprint("weekly", 1) == first


def test_the_pages_answer_without_session_with_a_redirect(site: Context) -> None:
    client, _ = signed_in(site, CORA)
    client.cookies.clear()
    for path in ("/admin/editions/weekly/1", "/admin/editions/weekly/1/email.html",
                 "/admin/editions/weekly/1/email.pdf", "/admin/editions/weekly/1/fingerprint",
                 f"/admin/bulletins/{SLUG}", f"/admin/bulletins/{SLUG}/email.html",
                 f"/admin/bulletins/{SLUG}/email.pdf", f"/admin/bulletins/{SLUG}/fingerprint",
                 "/admin/preview.js"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"{site.settings.site.base_url}/admin/login"


def test_the_page_frames_pdf_and_choices(site: Context) -> None:
    client, _ = signed_in(site, CORA)
    page = client.get("/admin/editions/weekly/1?language=fr&themes=culture&dark=1")
    assert page.status_code == 200
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    assert page.text.count("<iframe") == 2 and page.text.count(" sandbox ") == 2
    assert "allow-scripts" not in page.text
    assert "dark=1" in page.text and "fr:culture" in page.text
    frame = client.get("/admin/editions/weekly/1/email.html?language=fr&themes=culture")
    dark = client.get("/admin/editions/weekly/1/email.html?language=fr&themes=culture&dark=1")
    assert frame.headers["content-security-policy"].startswith("sandbox")
    assert "prefers-color-scheme: dark" in frame.text
    assert "prefers-color-scheme" not in dark.text and "@media all" in dark.text
    assert client.get("/admin/editions/weekly/1/email.pdf").content.startswith(b"%PDF-")
    assert client.get(f"/admin/bulletins/{SLUG}/email.pdf").content.startswith(b"%PDF-")
    assert client.get("/admin/editions/weekly/9").status_code == 404
    assert client.get("/admin/bulletins/no-such-bulletin").status_code == 404
    unknown = client.get("/admin/editions/weekly/1?member=nobody@example.org")
    assert unknown.status_code == 200 and "no member" in unknown.text
    assert "<iframe" in unknown.text  # the full email all the same
    french = client.get("/admin/editions/weekly/1", headers={"Accept-Language": "fr"}).text
    assert "<dt>Objet</dt>" in french and "Aperçu de l’édition" not in french


# ----------------------------------------------------------------- in Chromium


def _browser_page(browser: Any, url: str, ctx: Context, width: int,
                  bypass_csp: bool = False) -> Any:
    """A signed-in Chromium page; ``bypass_csp`` only to let axe in (the live refresh
    runs under the page's own policy)."""
    client, _ = signed_in(ctx, CORA)
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  bypass_csp=bypass_csp)
    context.add_cookies([{"name": name, "value": value, "url": url}
                         for name, value in client.cookies.items()])
    return context.new_page()


def test_axe_layout_dark_mode_and_live_refresh_in_chromium(browser: Any, site: Context) -> None:
    from tests.external_tools import axe_script
    from tests.test_accessibility import WCAG_AA

    ctx = make_context(site.settings.base_dir)
    backgrounds: dict[str, set[str]] = {}
    with serving(ctx) as url:
        for path in ("/admin/editions/weekly/1?member=francois.lefevre@example.net",
                     f"/admin/bulletins/{SLUG}?dark=1", f"/admin/bulletins/{SLUG}"):
            for width in (375, 1280):
                page = _browser_page(browser, url, ctx, width, bypass_csp=True)
                page.goto(url + path)
                page.add_script_tag(path=str(axe_script()))
                violations = page.evaluate(
                    "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', "
                    "values: tags}, resultTypes: ['violations']})).violations", WCAG_AA)
                assert not violations, [(v["id"], v["nodes"][0]["html"][:120])
                                        for v in violations]
                first, second = (page.locator("iframe").nth(i).bounding_box()
                                 for i in (0, 1))
                assert first and second
                if width == 375:  # stacked, each within the screen
                    assert second["y"] >= first["y"] + first["height"]
                    assert first["x"] + first["width"] <= 375
                else:  # side by side at their widths
                    assert second["y"] == first["y"]
                    widths = [page.frames[i].evaluate("window.innerWidth") for i in (1, 2)]
                    assert sorted(widths) == [375, 600]  # the email's own viewport
                backgrounds.setdefault("dark" if "dark=1" in path else "light", set()).update(
                    page.frames[i].evaluate("getComputedStyle(document.body).backgroundColor")
                    for i in (1, 2))
                page.context.close()
        _live_refresh(browser, url, ctx)
    # The dark-mode switch applies the email's own dark rules, whatever the system prefers.
    assert len(backgrounds["dark"]) == len(backgrounds["light"]) == 1
    assert backgrounds["dark"] != backgrounds["light"]


def _live_refresh(browser: Any, url: str, ctx: Context) -> None:
    """Editing the bulletin file changes the frames and subject within about a second."""
    page = _browser_page(browser, url, ctx, 1280)
    page.goto(f"{url}/admin/bulletins/{SLUG}")
    path = Path(Previews(ctx).bulletin(SLUG).source)
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original.replace("title: Updates from", "title: Live news from"),
                        encoding="utf-8")
        page.wait_for_function(  # polled every 500 ms: well within 3 s on a busy machine
            "() => document.querySelector('#live dd').textContent.startsWith('Live news')",
            timeout=3000)
        page.frame_locator("iframe").first.locator("text=Live news from").first.wait_for(
            timeout=3000)
        assert "Live news from" in page.frame_locator("iframe").first.locator("body").inner_text()
    finally:
        path.write_text(original, encoding="utf-8")
        page.context.close()
