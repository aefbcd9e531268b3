"""An approver approves the draft edition they looked at (docs/console.md, "Acting"), as
for a bulletin's content hash:

- the approval form carries the draft's version (its status, items, curation and note):
  an editor's note or curation saved after the approver opened the page makes the
  approval a 409 that shows the new draft, and approving that one then works;
- below the web, a draft that changes while its approval is judged (lint rendered) is not
  approved: cancelled meanwhile, it stays cancelled (never sent); curated meanwhile (a
  placeholder link in the note), it is not approved without its lint being judged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

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
