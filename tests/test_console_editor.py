"""The console's bulletin editor: a bulletin's front matter as form fields and its body,
saved atomically to its file, refused (and shown back) when the file changed since the
form was loaded or when a run would refuse the text, and never outside the folder."""

from __future__ import annotations

import dataclasses
import re
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from digest.bulletins import MAX_BULLETIN_BYTES, load_bulletin
from digest.config import Environment, Settings
from digest.jobs import bulletin_files
from digest.jobs.bulletin_form import Draft, compose, parse
from digest.jobs.context import Context
from digest.models import Bulletin
from digest.render.i18n import translate
from digest.store import audit
from digest.testing import ManualClock
from digest.web.server import make_server
from tests.admin_client import signed_in
from tests.conftest import ROOT
from tests.mail_server import free_port, wait_for

SAMPLE = ROOT / "sample" / "bulletins" / "2019-03-wg-smart-social-inclusion.md"
SLUG = "2019-03-wg-smart-social-inclusion"
EDITOR = "eva@example.org"
SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
# Other shapes of front matter a coordinator writes by hand: comments, quoting, a theme
# by its title, a send_at, a slug of its own, a body without a heading.
HANDWRITTEN = """---
# the March meeting
title: "Working group: March"   # quoted
forum: Social Affairs Forum
group: WG Culture
date: 2019-03-25
themes: [Culture, economy]
send_at: 2019-03-20T09:00:00+01:00
slug: march-culture
---
Only an introduction, with a [link](https://example.org/a).
"""


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    context = make_ctx(tmp_path, "http://127.0.0.1:9/digest")
    yield context
    context.close()


def make_ctx(tmp_path: Path, base_url: str) -> Context:
    """A site with the sample bulletin and a handwritten one, and one editor."""
    folder = tmp_path / "bulletins"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    (folder / "handwritten.md").write_text(HANDWRITTEN, encoding="utf-8")
    settings = Settings.model_validate({
        "site": {"title": "Social Affairs Forum", "base_url": base_url,
                 "sender": {"name": "Forum", "address": "forum@example.org"},
                 "output": str(tmp_path / "site")},
        "themes": {"culture": {"title": "Culture"}, "economy": {"title": "Economy"}},
        "bulletins": {"path": str(folder), "audience": "all"},
        "coordinators": [{"email": EDITOR, "name": "Eva", "role": "editor"}],
        "config_path": str(tmp_path / "schedules.yaml"),
    })
    return Context(settings=settings, env=Environment(None, None, None, SECRET, None),
                   clock=ManualClock(datetime(2019, 3, 18, tzinfo=UTC)))


@pytest.fixture
def client(ctx: Context) -> tuple[httpx.Client, str]:
    return signed_in(ctx, EDITOR)


class _Form(HTMLParser):
    """The editor form's fields as a browser would post them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        name = found.get("name")
        if tag == "textarea" and name:
            self._textarea = name
            self.fields.setdefault(name, []).append("")
        elif tag == "input" and name:
            if found.get("type") == "checkbox" and "checked" not in found:
                return
            self.fields.setdefault(name, []).append(found.get("value") or "")

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None


def form_of(html: str) -> dict[str, list[str]]:
    parser = _Form()
    parser.feed(html)
    # A browser drops the one line end that follows <textarea>.
    return {k: [v[1:] if v.startswith("\n") else v for v in vs]
            for k, vs in parser.fields.items()}


def post(client: httpx.Client, url: str, fields: dict[str, list[str]]) -> Any:
    """POST as the page does: multipart, each field once per value."""
    parts = [(name, (None, value.encode())) for name, values in fields.items()
             for value in values]
    return client.post(url, files=parts)


def edit_url(slug: str) -> str:
    return f"/admin/bulletins/{slug}/edit"


def meaning(bulletin: Bulletin) -> Bulletin:
    """What a bulletin says, without where it was read from or how it was written."""
    return dataclasses.replace(bulletin, markdown="", source_path="", footer_line=0,
                               content_hash="")


def folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.parent.rglob("*")) if p.is_file()
            } | {"(names)": "\n".join(sorted(str(p) for p in folder.parent.rglob("*"))).encode()}


@pytest.mark.parametrize("name", [SAMPLE.name, "handwritten.md"])
def test_a_form_saved_unchanged_keeps_the_file_and_a_changed_field_keeps_the_rest(
        ctx: Context, client: tuple[httpx.Client, str], name: str) -> None:
    http, _ = client
    path = bulletin_files.folder_of(ctx) / name
    before, loaded = path.read_bytes(), load_bulletin(path, ctx.settings)
    page = http.get(edit_url(loaded.slug))
    assert page.status_code == 200
    fields = form_of(page.text)
    assert fields["title"] == [loaded.title] and fields["body"][0].strip()
    saved = post(http, edit_url(loaded.slug), fields)
    assert saved.status_code == 200, saved.text
    assert "No change" in saved.text
    assert path.read_bytes() == before  # same fields: the front matter as written, comments too
    fields["title"] = ["A new title"]
    changed = post(http, edit_url(loaded.slug), form_of(saved.text) | {"title": ["A new title"]})
    assert changed.status_code == 200, changed.text
    after = load_bulletin(path, ctx.settings)
    assert meaning(after) == dataclasses.replace(meaning(loaded), title="A new title")


@pytest.mark.parametrize("name", [SAMPLE.name, "handwritten.md"])
def test_an_unchanged_save_writes_nothing_and_records_nothing(
        ctx: Context, client: tuple[httpx.Client, str], name: str) -> None:
    """The form of a file posted back as it came, through the page and through the job:
    the file is not rewritten (same inode, same mtime) and no "edit" is in the audit log;
    a real change is written and recorded once."""
    http, _ = client
    path = bulletin_files.folder_of(ctx) / name
    slug = load_bulletin(path, ctx.settings).slug
    before = path.stat()
    answer = post(http, edit_url(slug), form_of(http.get(edit_url(slug)).text))
    assert answer.status_code == 200 and "No change" in answer.text, answer.text
    opened = bulletin_files.open_bulletin(ctx, slug)
    result = bulletin_files.save(ctx, slug, opened.parsed.draft, opened.version, EDITOR)
    assert isinstance(result, bulletin_files.Saved) and not result.changed
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    with ctx.db.transaction() as connection:
        assert audit.for_target(connection, f"bulletin:{slug}") == []
    changed = dataclasses.replace(opened.parsed.draft,
                                  fields={**opened.parsed.draft.fields, "place": "Lyon"})
    result = bulletin_files.save(ctx, slug, changed, opened.version, EDITOR)
    assert isinstance(result, bulletin_files.Saved) and result.changed
    with ctx.db.transaction() as connection:
        assert [e.action for e in audit.for_target(connection, f"bulletin:{slug}")] == ["edit"]


@pytest.mark.parametrize("text", [SAMPLE.read_text(encoding="utf-8"), HANDWRITTEN])
def test_compose_of_parse_means_the_same(ctx: Context, tmp_path: Path, text: str) -> None:
    """The fields read from a file and written again (no text kept) load as the file does."""
    parsed = parse(text, ctx.settings)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    again, original = tmp_path / "a" / "x.md", tmp_path / "b" / "x.md"
    again.write_text(compose(parsed.draft), encoding="utf-8")
    original.write_text(text, encoding="utf-8")
    assert meaning(load_bulletin(again, ctx.settings)) == meaning(
        load_bulletin(original, ctx.settings))


def test_a_save_based_on_an_older_version_is_refused_with_both_versions(
        ctx: Context, client: tuple[httpx.Client, str]) -> None:
    http, _ = client
    path = bulletin_files.folder_of(ctx) / SAMPLE.name
    fields = form_of(http.get(edit_url(SLUG)).text)
    on_disk = path.read_text(encoding="utf-8").replace("Glasgow", "Edinburgh")
    path.write_text(on_disk, encoding="utf-8")  # another coordinator, with a text editor
    fields["body"] = ["## Mine\n\nMy own words, <not> lost.\n"]
    answer = post(http, edit_url(SLUG), fields)
    assert answer.status_code == 409
    assert path.read_text(encoding="utf-8") == on_disk
    assert "Edinburgh" in answer.text and "My own words, &lt;not&gt; lost." in answer.text
    again = form_of(answer.text)
    assert again["body"] == fields["body"]  # kept in the form
    assert again["based_on"] == [bulletin_files.version_of(path.read_bytes())]
    resolved = post(http, edit_url(SLUG), again)  # saved again, knowingly
    assert resolved.status_code == 200
    assert "My own words" in path.read_text(encoding="utf-8")


def test_a_refused_text_writes_nothing_and_shows_the_problem_at_its_field(
        ctx: Context, client: tuple[httpx.Client, str]) -> None:
    http, _ = client
    folder = bulletin_files.folder_of(ctx)
    before = folder_state(folder)
    fields = form_of(http.get(edit_url(SLUG)).text)
    for field, value in [("date", "2019-02-30"), ("end_date", "2019-01-01"),
                         ("send_at", "2019-03-20T09:00"), ("title", "")]:
        answer = post(http, edit_url(SLUG), fields | {field: [value]})
        assert answer.status_code == 400, field
        assert folder_state(folder) == before, field  # no file changed, none left behind
        described = re.search(rf'<input[^>]*id="f-{field}"[^>]*>', answer.text)
        assert described and f"{field}-error" in described.group(0)
        assert 'aria-invalid="true"' in described.group(0)
        error = re.search(rf'id="{field}-error">(.*?)</ul>', answer.text, re.S)
        assert error and f": {field}: " in error.group(1)
        assert form_of(answer.text)[field] == [value]  # the text typed is kept


@pytest.mark.parametrize("slug", ["..%2F..%2Fschedules", "%2Fetc%2Fpasswd", "a%00b", "x" * 200,
                                  "UPPER", ".hidden", "2019-03-wg-smart-social-inclusion.md"])
def test_hostile_slugs_find_nothing(ctx: Context, client: tuple[httpx.Client, str],
                                    slug: str) -> None:
    http, csrf = client
    folder = bulletin_files.folder_of(ctx)
    before = folder_state(folder)
    assert http.get(edit_url(slug)).status_code in (400, 404)  # 400: a control character
    answer = post(http, edit_url(slug), {"csrf": [csrf], "title": ["x"], "body": ["y"]})
    assert answer.status_code in (400, 404, 409)
    assert folder_state(folder) == before


@pytest.mark.parametrize("slug", ["../evil", "/tmp/evil", "a\x00b", "x" * 81, "new", "Capital",
                                  "-dash", "with space", SLUG, "march-culture", "handwritten"])
def test_a_new_bulletin_gets_no_path_outside_the_folder_nor_a_taken_name(
        ctx: Context, client: tuple[httpx.Client, str], slug: str) -> None:
    http, csrf = client
    folder = bulletin_files.folder_of(ctx)
    before = folder_state(folder)
    answer = post(http, "/admin/bulletins/new", {
        "csrf": [csrf], "slug": [slug], "title": ["T"], "forum": ["F"], "group": ["G"],
        "date": ["2019-03-25"], "body": ["Hello."]})
    assert answer.status_code == 400
    assert folder_state(folder) == before
    assert 'id="slug-error"' in answer.text


def test_a_new_bulletin_is_written_and_loads(ctx: Context,
                                             client: tuple[httpx.Client, str]) -> None:
    http, csrf = client
    answer = post(http, "/admin/bulletins/new", {
        "csrf": [csrf], "slug": ["april"], "title": ["T"], "forum": ["F"], "group": ["G"],
        "date": ["2019-04-25"], "themes": ["culture"], "body": ["## 1. One\n\nText.\n"]})
    assert answer.status_code == 200, answer.text
    written = load_bulletin(bulletin_files.folder_of(ctx) / "april.md", ctx.settings)
    assert (written.slug, written.themes, written.sections[0].number) == ("april",
                                                                         ("culture",), 1)
    assert 'action="http://127.0.0.1:9/digest/admin/bulletins/april/edit"' in answer.text
    with ctx.db.transaction() as connection:
        logged = audit.for_target(connection, "bulletin:april")
    assert [(e.actor, e.action) for e in logged] == [(EDITOR, "create")]


def test_an_oversize_body_is_refused(ctx: Context, client: tuple[httpx.Client, str]) -> None:
    http, _ = client
    path = bulletin_files.folder_of(ctx) / SAMPLE.name
    before = path.read_bytes()
    fields = form_of(http.get(edit_url(SLUG)).text)
    answer = post(http, edit_url(SLUG), fields | {"body": ["word " * (MAX_BULLETIN_BYTES // 5)]})
    assert answer.status_code == 400
    assert "over the limit of 128 KB" in answer.text
    huge = post(http, edit_url(SLUG), fields | {"body": ["x" * 300_000]})
    assert huge.status_code == 413  # bounded before it is read
    assert path.read_bytes() == before


def test_a_post_without_the_csrf_token_changes_nothing(
        ctx: Context, client: tuple[httpx.Client, str]) -> None:
    http, _ = client
    path = bulletin_files.folder_of(ctx) / SAMPLE.name
    before = path.read_bytes()
    fields = form_of(http.get(edit_url(SLUG)).text)
    del fields["csrf"]
    assert post(http, edit_url(SLUG), fields | {"title": ["X"]}).status_code == 403
    assert path.read_bytes() == before


def test_the_preview_renders_the_body_as_the_web_version(
        client: tuple[httpx.Client, str]) -> None:
    http, csrf = client
    body = "Intro <script>x</script>\n\n## 2. Second\n\n- [a](https://example.org/a)\n"
    for url in (edit_url(SLUG) + "/preview", "/admin/bulletins/new/preview"):
        answer = post(http, url, {"csrf": [csrf], "body": [body]})
        assert answer.status_code == 200
        assert "&lt;script&gt;" in answer.text and "<script>" not in answer.text
        assert '<span class="number">2.</span> Second' in answer.text
    # Without script: the form's Preview button shows it, and saves nothing.
    fields = form_of(http.get(edit_url(SLUG)).text)
    shown = post(http, edit_url(SLUG), fields | {"body": [body], "do": ["preview"]})
    assert shown.status_code == 200 and "Second" in shown.text and "Saved." not in shown.text


@pytest.mark.parametrize("console", ["fr", "de"])
def test_the_preview_speaks_the_console_s_language_not_the_bulletin_s(
        client: tuple[httpx.Client, str], console: str) -> None:
    """The preview's own words follow the coordinator's language (Accept-Language),
    whatever language the bulletin is written in, in the fetched preview and the page."""
    http, csrf = client
    note = "Nothing to preview yet: write the body."
    wanted = translate(console, note)
    assert wanted != note
    for bulletin_language in ("en", "fr", "de"):
        for url in (edit_url(SLUG) + "/preview", "/admin/bulletins/new/preview"):
            answer = http.post(url, files=[("csrf", (None, csrf.encode())),
                                           ("body", (None, b"")),
                                           ("language", (None, bulletin_language.encode()))],
                               headers={"Accept-Language": f"{console},en;q=0.5"})
            assert answer.status_code == 200 and wanted in unescape(answer.text), answer.text
    page = http.get("/admin/bulletins/new", headers={"Accept-Language": console})
    assert wanted in unescape(page.text)


def test_the_editor_page_allows_only_its_own_script(client: tuple[httpx.Client, str]) -> None:
    http, _ = client
    page = http.get(edit_url(SLUG))
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert http.get("/admin/editor/editor.js").headers["content-type"].startswith(
        "text/javascript")


def test_without_a_session_nothing_opens(ctx: Context) -> None:
    http = TestClient(__import__("digest.web.app", fromlist=["x"]).create_app(ctx))
    assert http.get(edit_url(SLUG), follow_redirects=False).status_code == 303


def test_find_follows_the_run_s_slugs(ctx: Context) -> None:
    folder = bulletin_files.folder_of(ctx)
    assert bulletin_files.find(folder, "march-culture") == folder / "handwritten.md"
    assert bulletin_files.find(folder, "handwritten") is None  # its front matter renames it
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\nx\n")
    assert bulletin_files.find(folder, "broken") == folder / "broken.md"  # still fixable


def test_draft_of_form_normalises_line_ends() -> None:
    draft = Draft.of_form({"body": ["a\r\nb\rc"], "title": ["  T  "], "themes": ["x", "x"]})
    assert (draft.body, draft.fields["title"], draft.themes) == ("a\nb\nc", "T", ("x",))


@pytest.mark.parametrize("width", [375, 1024])
def test_no_wcag_aa_violation_on_the_editor(browser: Any, ctx: Context,
                                            client: tuple[httpx.Client, str], width: int) -> None:
    from tests.test_accessibility import _assert_none, axe_violations

    http, _ = client
    fields = form_of(http.get(edit_url(SLUG)).text)
    path = bulletin_files.folder_of(ctx) / SAMPLE.name
    pages = {"edit": http.get(edit_url(SLUG)).text,
             "new": http.get("/admin/bulletins/new").text,
             "problems": post(http, edit_url(SLUG), fields | {"date": ["2019-02-30"]}).text}
    path.write_text(path.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    pages["conflict"] = post(http, edit_url(SLUG), fields).text
    for name, html in pages.items():
        _assert_none(axe_violations(browser, name, width, html=html), f"{name} at {width}")


def test_the_preview_follows_the_typing_in_chromium(browser: Any, tmp_path: Path) -> None:
    """The page's own script, under the console's CSP, refreshes the preview once the
    typing pauses (one request for a burst of keys), and saves nothing."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ctx = make_ctx(tmp_path, url)
    server = make_server(ctx, "127.0.0.1", port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    context = None
    try:
        assert wait_for(lambda: server.started)
        http, _ = signed_in((ctx, httpx.Client(base_url=url)), EDITOR)
        path = bulletin_files.folder_of(ctx) / SAMPLE.name
        before = path.read_bytes()
        context = browser.new_context(viewport={"width": 375, "height": 900})
        context.add_cookies([{"name": n, "value": v, "url": url} for n, v in http.cookies.items()])
        page = context.new_page()
        previews: list[str] = []
        page.on("request", lambda r: previews.append(r.url) if r.url.endswith("/preview")
                else None)
        page.goto(f"{url}{edit_url(SLUG)}")
        page.fill("#f-body", "")
        page.type("#f-body", "## 7. Typed live", delay=15)
        page.wait_for_selector("#preview >> text=Typed live", timeout=5000)
        assert page.inner_text("#preview .number") == "7."
        assert len(previews) == 1
        assert path.read_bytes() == before
    finally:
        if context is not None:
            context.close()
        server.should_exit = True
        thread.join(10)
        ctx.close()


def test_keys_the_form_cannot_hold_are_listed_and_dropped(
        ctx: Context, client: tuple[httpx.Client, str]) -> None:
    http, _ = client
    path = bulletin_files.folder_of(ctx) / "extra.md"
    path.write_text(HANDWRITTEN.replace("slug: march-culture", "slug: extra\ncolour: red"),
                    encoding="utf-8")
    page = http.get(edit_url("extra"))
    assert page.status_code == 200
    assert "dropped when you save:" in page.text and "colour" in page.text
    assert "unknown key" in page.text  # what a run says of the file as it is
    saved = post(http, edit_url("extra"), form_of(page.text))
    assert saved.status_code == 200, saved.text
    assert "colour" not in path.read_text(encoding="utf-8")
    assert load_bulletin(path, ctx.settings).themes == ("culture", "economy")


def test_a_changed_field_rewrites_the_front_matter_without_its_comments(
        ctx: Context, client: tuple[httpx.Client, str]) -> None:
    http, _ = client
    path = bulletin_files.folder_of(ctx) / "handwritten.md"
    fields = form_of(http.get(edit_url("march-culture")).text)
    assert fields["themes"] == ["culture", "economy"]  # "Culture" named by its title
    assert post(http, edit_url("march-culture"), fields | {"place": ["Lyon"]}).status_code == 200
    text = path.read_text(encoding="utf-8")
    assert "# the March meeting" not in text and "place: Lyon" in text
    assert text.endswith(HANDWRITTEN.split("---\n", 2)[2])  # the body as it was


def test_a_file_the_editor_cannot_hold_is_said_so(ctx: Context,
                                                  client: tuple[httpx.Client, str]) -> None:
    http, _ = client
    folder = bulletin_files.folder_of(ctx)
    (folder / "big.md").write_bytes(b"---\ntitle: x\n---\n" + b"x" * MAX_BULLETIN_BYTES)
    (folder / "latin.md").write_bytes(b"---\ntitle: caf\xe9\n---\n")
    for slug in ("big", "latin"):
        answer = http.get(edit_url(slug))
        assert answer.status_code == 422 and "cannot be edited in the browser" in answer.text
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\nBody kept.\n")
    broken = http.get(edit_url("broken"))
    assert broken.status_code == 200 and "not valid YAML" in broken.text
    assert form_of(broken.text)["body"][0].strip() == "Body kept."


def test_two_saves_from_one_version_the_second_is_refused(
        ctx: Context, client: tuple[httpx.Client, str]) -> None:
    http, _ = client
    path = bulletin_files.folder_of(ctx) / SAMPLE.name
    fields = form_of(http.get(edit_url(SLUG)).text)
    first = post(http, edit_url(SLUG), fields | {"place": ["Lyon"]})
    assert first.status_code == 200
    written = path.read_bytes()
    with ctx.db.transaction() as connection:
        logged = audit.for_target(connection, f"bulletin:{SLUG}")
    assert [(e.actor, e.action) for e in logged] == [(EDITOR, "edit")]
    assert bulletin_files.version_of(written)[:16] in (logged[0].detail or "")
    second = post(http, edit_url(SLUG), fields | {"place": ["Turin"]})  # an older version
    assert second.status_code == 409 and "Turin" in second.text and "Lyon" in second.text
    assert path.read_bytes() == written


def test_the_placeholder_links_are_listed_by_line_until_fixed_in_the_editor(
        ctx: Context, client: tuple[httpx.Client, str]) -> None:
    """The sample's `#` links, each at its line of the file, gone once replaced."""
    http, _ = client
    path = bulletin_files.folder_of(ctx) / SAMPLE.name
    lines = path.read_text(encoding="utf-8").splitlines()
    placeholders = [n for n, line in enumerate(lines, 1) if "](#)" in line]
    page = http.get(edit_url(SLUG))
    listed = re.findall(rf"{re.escape(SAMPLE.name)}:(\d+): error: link", page.text)
    assert placeholders and sorted({int(n) for n in listed}) == placeholders
    fields = form_of(page.text)
    fields["body"] = [fields["body"][0].replace("](#)", "](https://example.org/x)")]
    fixed = post(http, edit_url(SLUG), fields)
    assert fixed.status_code == 200
    assert "To fix before sending" not in fixed.text and "error: link" not in fixed.text
