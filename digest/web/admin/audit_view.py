"""How the console shows the audit log: one label for each action
(``digest.store.audit.Action``), translated like every console label, and the console
page of each target.

The log stores the action's code (``members.import.preview``, ``retry-failed``); a page
shows its label in the reader's language, and a code without one (a row written by a
newer version) as it is stored. A target links to its page: ``bulletin:<slug>`` (and its
edition ``bulletin:<slug>/1``) to the bulletin's, ``weekly/3`` to the edition's,
``members`` to the members' search.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from digest.identifiers import EditionSeries, parse_label
from digest.render.i18n import N_
from digest.store.audit import Action
from digest.web.admin.access import Console, SignedIn

ACTION_LABELS: dict[str, str] = {
    Action.APPROVE: N_("approved"), Action.REJECT: N_("rejected"),
    Action.SCHEDULE: N_("scheduled"), Action.PAUSE: N_("paused"),
    Action.RESUME: N_("resumed"), Action.CANCEL: N_("cancelled"),
    Action.RETRY_FAILED: N_("failed messages queued again"),
    Action.TEST_SEND: N_("test copy sent"),
    Action.EDIT: N_("bulletin edited"), Action.CREATE: N_("bulletin created"),
    Action.OMIT: N_("item left out"), Action.RESTORE: N_("item restored"),
    Action.PIN: N_("item pinned"), Action.UNPIN: N_("item unpinned"),
    Action.NOTE: N_("note saved"), Action.NOTE_REMOVED: N_("note removed"),
    Action.MEMBERS_EXPORT: N_("members exported"),
    Action.MEMBERS_IMPORT: N_("members imported"),
    Action.MEMBERS_IMPORT_PREVIEW: N_("members import: dry run"),
    Action.MEMBER_ERASE: N_("a member erased at their request"),
}


def action_label(code: str) -> str:
    """The label (a message id, to translate) of an action code; an unknown code as is."""
    return ACTION_LABELS.get(code, code)


def target_path(target: str) -> str | None:
    """The console path (under ``/admin``) of an audit target's page; None: it has none."""
    if target == "members":
        return "/members"
    labelled = parse_label(target)
    series = labelled[0] if labelled else EditionSeries.parse(target)
    if series.is_bulletin:
        return f"/bulletins/{quote(series.name, safe='')}" if series.name else None
    if labelled is None or not series.name:
        return None
    return f"/editions/{quote(series.name, safe='')}/{labelled[1]}"


def target_urls(console: Console, who: SignedIn) -> Callable[[str], str | None]:
    """For the templates: an audit target's page as an absolute URL (None: it has none,
    or ``who`` may not open it: the members' pages need a site role)."""
    def target_url(target: str) -> str | None:
        path = target_path(target)
        if path is None or (path == "/members" and not who.may("members")):
            return None
        return console.url(path)

    return target_url
