"""Two coordinators on the same draft edition lose nothing (docs/console.md, "Acting"):

- two editors write the editor's note at once: the second save, written over a note that
  changed since its page was opened, is refused (409) with both texts shown, its own kept
  in the form; saved again from there, it replaces the other knowingly. Any refused note
  (too long) stays in the form. The page passes axe in Chromium.

An approver approves the draft edition they looked at, as for a bulletin's content hash:

- the approval form carries the draft's version (its status, items, curation and note):
  an editor's note or curation saved after the approver opened the page makes the
  approval a 409 that shows the new draft, and approving that one then works;
- below the web, a draft that changes while its approval is judged (lint rendered) is not
  approved: cancelled meanwhile, it stays cancelled (never sent); curated meanwhile (a
  placeholder link in the note), it is not approved without its lint being judged.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from digest.errors import InputError
from digest.jobs import curation, edition_actions
from digest.jobs.context import Context
from digest.jobs.manual import find_edition
from digest.render.lint import Problem
from digest.store import audit
from tests.admin_client import signed_in
from tests.conftest import reset_postgres
from tests.test_console_actions import ANN, ED, EDITION, make_project
from tests.test_console_preview import make_context

_VERSION = re.compile(r'name="draft_version" value="([0-9a-f]+)"')
_NOTE_VERSION = re.compile(r'name="note_version" value="([0-9a-f]+)"')
_NOTE = re.compile(r'<textarea id="curate-note" name="note" rows="5">(.*?)</textarea>', re.S)


@pytest.fixture(params=["sqlite", "postgres"])
def site(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Context]:
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
    ctx = make_context(make_project(tmp_path, url), url)
    yield ctx
    ctx.close()


def _approvals(ctx: Context) -> int:
    with ctx.db.transaction() as connection:
        return sum(1 for e in audit.latest(connection, 1000) if e.action == "approve")


def test_an_approval_of_a_draft_curated_since_the_page_was_opened_is_refused(
        site: Context) -> None:
    approver, approver_csrf = signed_in(site, ANN)
    editor, editor_csrf = signed_in(site, ED)
    opened = approver.get(EDITION).text
    [seen] = _VERSION.findall(opened)
    assert "Surprise from the editor" not in opened
    saved = editor.post(f"{EDITION}/note", data={"csrf": editor_csrf,
                                                  "note": "Surprise from the editor"})
    assert saved.status_code == 200
    refused = approver.post(f"{EDITION}/approve", data={"csrf": approver_csrf,
                                                        "draft_version": seen})
    assert refused.status_code == 409, refused.status_code
    assert "changed since you looked at it" in refused.text
    assert str(find_edition(site, "weekly/1").status) == "draft" and _approvals(site) == 0
    # The answer shows the draft as it now is, with its version: approving it works.
    assert "Surprise from the editor" in refused.text
    [now] = _VERSION.findall(refused.text)
    assert now != seen
    approved = approver.post(f"{EDITION}/approve", data={"csrf": approver_csrf,
                                                         "draft_version": now})
    assert approved.status_code == 200 and "Approved." in approved.text
    assert str(find_edition(site, "weekly/1").status) == "approved" and _approvals(site) == 1


def _meanwhile(monkeypatch: pytest.MonkeyPatch, act: Callable[[], object]) -> None:
    """Run ``act`` while the approval renders the draft's email for its lint."""
    judge = edition_actions._email_errors

    def judging(ctx: Context, row: object) -> list[Problem]:
        found = judge(ctx, row)  # type: ignore[arg-type]
        act()
        return found
    monkeypatch.setattr(edition_actions, "_email_errors", judging)


def test_a_draft_cancelled_while_its_approval_is_judged_stays_cancelled(
        site: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    _meanwhile(monkeypatch, lambda: edition_actions.cancel(site, "weekly/1", ED, "no"))
    with pytest.raises(InputError, match="changed while it was being approved"):
        edition_actions.approve(site, "weekly/1", ANN)
    assert str(find_edition(site, "weekly/1").status) == "cancelled"
    assert _approvals(site) == 0


def test_a_draft_curated_while_its_approval_is_judged_is_not_approved(
        site: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    _meanwhile(monkeypatch, lambda: curation.set_note(site, "weekly/1", "See [here](#).", ED))
    with pytest.raises(InputError, match="changed while it was being approved"):
        edition_actions.approve(site, "weekly/1", ANN)
    assert str(find_edition(site, "weekly/1").status) == "draft" and _approvals(site) == 0
    with pytest.raises(InputError, match="lint error"):  # judged again: the '#' link
        edition_actions.approve(site, "weekly/1", ANN)


def _typed(page: str) -> str:
    [typed] = _NOTE.findall(page)
    return html.unescape(typed)


def _saved_note(ctx: Context) -> str:
    note = curation.current(ctx, "weekly/1").curation.note
    return note.markdown if note else ""


def test_two_editors_writing_the_note_at_once_lose_nothing(site: Context, browser: Any) -> None:
    from tests.test_accessibility import axe_violations

    ann, ann_csrf = signed_in(site, ANN)
    ed, ed_csrf = signed_in(site, ED)
    [ann_opened] = _NOTE_VERSION.findall(ann.get(EDITION).text)
    [ed_opened] = _NOTE_VERSION.findall(ed.get(EDITION).text)
    assert ann_opened == ed_opened
    first = ed.post(f"{EDITION}/note", data={"csrf": ed_csrf, "note_version": ed_opened,
                                             "note": "Ed's *pick* of the week"})
    assert first.status_code == 200 and _saved_note(site) == "Ed's *pick* of the week"
    mine = "Ann's view: <b>two</b> lines\nof text"
    second = ann.post(f"{EDITION}/note", data={"csrf": ann_csrf, "note_version": ann_opened,
                                               "note": mine})
    assert second.status_code == 409, second.status_code
    assert "the note changed since you opened it" in second.text
    assert _saved_note(site) == "Ed's *pick* of the week"  # not overwritten unseen
    assert _typed(second.text) == mine  # Ann's text kept in the form...
    assert "The note as it is saved now:" in second.text  # ...Ed's beside it
    assert "Ed&#39;s *pick* of the week</pre>" in second.text
    for width in (375, 1024):
        violations = axe_violations(browser, "note-conflict", width, html=second.text)
        assert not violations, (width, [v["id"] for v in violations])
    [now] = _NOTE_VERSION.findall(second.text)
    again = ann.post(f"{EDITION}/note", data={"csrf": ann_csrf, "note_version": now,
                                              "note": mine})
    assert again.status_code == 200 and _saved_note(site) == mine
    assert _typed(again.text) == mine and "saved now" not in again.text
    # A note refused for its size is kept too (nothing saved).
    long = "word " * 2000
    refused = ann.post(f"{EDITION}/note", data={"csrf": ann_csrf, "note": long,
                                                "note_version": now})
    assert refused.status_code in (400, 409) and _typed(refused.text) == long
    assert _saved_note(site) == mine
