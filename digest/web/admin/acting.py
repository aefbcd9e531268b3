"""The acting part of the console's preview pages: the target's state, the forms of the
actions the signed-in coordinator may take in it, its delivery counts, its curation (a
digest's draft) and its history (``digest.jobs.console_actions``).

The preview pages (``previews``) ask for these values; the forms post to ``actions``.
Which actions a role may take is the access layer's rule (``SignedIn.may``); each form is
shown only when both the state offers it and the role allows it, and the access layer
checks the role again when the form is posted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from digest.dates import console_field, console_stamp
from digest.errors import InputError
from digest.jobs.console_actions import Panel, bulletin_panel, edition_panel
from digest.jobs.member_message import choices
from digest.render.i18n import N_
from digest.web.admin.access import Console, Permission, SignedIn
from digest.web.admin.audit_view import action_label, target_urls

# The permission each action needs (docs/console.md, "Acting").
PERMISSIONS: dict[str, Permission] = {
    "test": "test", "approve": "approve", "reject": "approve", "schedule": "approve",
    "pause": "approve", "resume": "approve", "cancel": "approve", "retry-failed": "approve",
    "curate": "edit",
}
# A target's state as the panel names it (a bulletin's or an edition's).
STATE_LABELS = {
    "draft": N_("draft"), "held": N_("held"), "rejected": N_("rejected"),
    "scheduled": N_("scheduled"), "due": N_("due"), "sent": N_("sent"),
    "cancelled": N_("cancelled"), "approved": N_("approved"), "sending": N_("sending"),
    "paused": N_("paused"), "failed": N_("failed"), "skipped": N_("skipped"),
    "superseded": N_("superseded"), "pending": N_("pending"),
}


@dataclass(frozen=True)
class Acting:
    """What the acting part of a preview page shows; its forms post to the page's own
    path and the action's name (relative, as the preview's links: ``1/approve``)."""

    panel: Panel
    allowed: frozenset[str]  # offered by the state and allowed to this coordinator
    me: str
    zone_name: str
    send_at_field: str  # the schedule shown back in the site's zone
    languages: tuple[str, ...] = ()  # an edition's test copy: its variant
    themes: tuple[tuple[str, str], ...] = ()

    def may(self, action: str) -> bool:
        return action in self.allowed


def bulletin_values(console: Console, who: SignedIn, slug: str) -> dict[str, Any]:
    """The acting values of ``/admin/bulletins/<slug>`` ({} when it cannot be read)."""
    try:
        panel = bulletin_panel(console.ctx, slug)
    except InputError:
        return {}
    return _values(console, who, panel, None)


def edition_values(console: Console, who: SignedIn, digest: str, number: int,
                   ) -> dict[str, Any]:
    """The acting values of ``/admin/editions/<digest>/<number>`` ({}: no such edition)."""
    try:
        panel = edition_panel(console.ctx, f"{digest}/{number}")
    except InputError:
        return {}
    return _values(console, who, panel, digest)


def _values(console: Console, who: SignedIn, panel: Panel, digest: str | None,
            ) -> dict[str, Any]:
    ctx = console.ctx
    zone = ctx.settings.site.zone
    allowed = frozenset(a for a in panel.offers if who.may(PERMISSIONS[a], digest))
    languages: tuple[str, ...] = ()
    themes: tuple[tuple[str, str], ...] = ()
    if digest is not None and "test" in allowed:
        found = choices(ctx, digest)
        languages, themes = found.languages, tuple(found.themes.items())
    acting = Acting(panel=panel, allowed=allowed, me=who.email,
                    zone_name=str(ctx.settings.site.timezone),
                    send_at_field=console_field(panel.send_at, zone) if panel.send_at else "",
                    languages=languages, themes=themes)

    def stamp(moment: datetime | None) -> str:
        return console_stamp(moment, zone) if moment is not None else "–"

    return {"acting": acting, "stamp": stamp, "action_label": action_label,
            "target_url": target_urls(console, who), "state_labels": STATE_LABELS}
