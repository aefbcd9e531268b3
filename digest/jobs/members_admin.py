"""What the console does with members: search, one member's messages, problems, export, and
importing a CSV in two steps (a dry run, then the same bytes applied).

An upload is kept in ``var/uploads/`` under a random name (``token``) with the SHA-256 of
its bytes beside it; the dry run shows both, and applying names the token and the hash, so
what is applied is the very file that was previewed (never a second upload), and a token
cannot name any other file; applying claims the file by renaming it, so a double click
imports it once. Uploads are removed once applied, after ``UPLOAD_TTL``, and beyond
``MAX_UPLOADS``.
Every step is written to the audit log with the coordinator's address.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from digest.config import Settings
from digest.errors import InputError
from digest.files import make_private_dir, write_atomic
from digest.jobs.context import Context
from digest.models import Subscriber, SubscriberStatus
from digest.store import audit, bounce_reports, deliveries, member_search, subscribers
from digest.store.deliveries import MemberDelivery
from digest.store.member_csv import MAX_CSV_BYTES, members_csv
from digest.store.member_import import ImportPlan, apply_import, plan_import
from digest.store.member_search import Found

UPLOAD_TTL = timedelta(hours=2)
MAX_UPLOADS = 20  # kept at once (each up to 16 MB): the oldest go first
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_SHOWN = re.compile(r"[^\w .()+-]")


@dataclass(frozen=True)
class Upload:
    """A stored upload: its token, the name it was sent under, and its SHA-256."""

    token: str
    name: str
    sha256: str


def member_rules(settings: Settings) -> subscribers.MemberRules:
    """The rules a new member is checked against: the same as ``digest subscribers``."""
    return subscribers.MemberRules.of(settings.site.language,
                                      [d.id for d in settings.digests], settings.themes)


def search(ctx: Context, query: str, status: str, page: int) -> Found:
    """A page of members; ``InputError`` for a query too long (an unknown state: all)."""
    chosen = SubscriberStatus(status) if status in set(SubscriberStatus) else None
    with ctx.db.transaction() as connection:
        return member_search.search(connection, query, chosen, page)


def member(ctx: Context, member_id: int) -> tuple[Subscriber, list[MemberDelivery]] | None:
    """A member and their messages with the server's answers, None when unknown."""
    with ctx.db.transaction() as connection:
        found = subscribers.by_id(connection, member_id)
        if found is None or found.id is None:
            return None
        return found, deliveries.of_member(connection, found.id)


def member_reports(ctx: Context, member_id: int) -> list[dict[str, object]]:
    """A member's bounce and complaint reports, oldest first (kind, detail, received_at as
    a datetime), for their console page."""
    with ctx.db.transaction() as connection:
        found = bounce_reports.for_member(connection, member_id)
    return [{**report, "received_at": datetime.fromisoformat(str(report["received_at"]))}
            for report in found]


def problems(ctx: Context) -> tuple[list[Subscriber], list[MemberDelivery]]:
    """Members whose mail bounced, and failed messages with the server's answers."""
    with ctx.db.transaction() as connection:
        return (member_search.in_status(connection, SubscriberStatus.BOUNCED),
                deliveries.failed_lately(connection))


def export(ctx: Context, actor: str) -> bytes:
    """Every member as the CSV the import reads (audited: addresses leave the store)."""
    with ctx.db.transaction() as connection:
        rows = [(m.email, m.name, m.language, ";".join(m.digests), ";".join(m.themes),
                 m.status.value) for m in subscribers.all_members(connection)]
        audit.record(connection, at=ctx.clock.now(), actor=actor,
                     action=audit.Action.MEMBERS_EXPORT, target="members",
                     detail=f"{len(rows)} members")
    return members_csv(rows)


def _folder(ctx: Context) -> Path:
    return make_private_dir(ctx.settings.var_dir / "uploads")


def keep_upload(ctx: Context, data: bytes, name: str) -> Upload:
    """Store an uploaded CSV (at most ``MAX_CSV_BYTES``, else ``InputError``) for its dry
    run and its application; older uploads past ``UPLOAD_TTL`` are removed."""
    if len(data) > MAX_CSV_BYTES:
        raise InputError(f"a members CSV is at most {MAX_CSV_BYTES // (1024 * 1024)} MB")
    folder = _folder(ctx)
    _forget_old(folder)
    shown = _SHOWN.sub("_", Path(name.replace("\\", "/")).name)[:100] or "members.csv"
    upload = Upload(secrets.token_urlsafe(24), shown, hashlib.sha256(data).hexdigest())
    write_atomic(folder / f"{upload.token}.csv", data, mode=0o600)
    write_atomic(folder / f"{upload.token}.json", json.dumps(
        {"name": upload.name, "sha256": upload.sha256}), mode=0o600)
    return upload


def _forget_old(folder: Path) -> None:
    """Remove uploads past ``UPLOAD_TTL`` (by the files' own times: the schedule's clock
    may be set elsewhere) and the oldest beyond ``MAX_UPLOADS - 1``."""
    before = time.time() - UPLOAD_TTL.total_seconds()
    kept: list[tuple[float, Path]] = []
    for path in folder.iterdir():
        try:
            changed = path.stat().st_mtime
        except OSError:
            continue
        if changed < before:
            path.unlink(missing_ok=True)
        elif path.suffix == ".csv":
            kept.append((changed, path))
    for _, path in sorted(kept, reverse=True)[MAX_UPLOADS - 1:]:
        path.unlink(missing_ok=True)
        path.with_suffix(".json").unlink(missing_ok=True)


def _claim(ctx: Context, token: str, sha256: str) -> tuple[Upload, Path]:
    """Take the upload a token names, if its bytes still hash to ``sha256``: renamed, so
    no second request takes it too; else ``InputError``."""
    gone = InputError("this upload is no longer here (applied already, or too old): "
                      "upload the file again")
    if not _TOKEN.fullmatch(token):
        raise gone
    folder = _folder(ctx)
    claimed = folder / f"{token}.{secrets.token_hex(8)}.applying"
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        (folder / f"{token}.csv").rename(claimed)
        data = claimed.read_bytes()
    except (OSError, ValueError):
        raise gone from None
    if not hmac.compare_digest(hashlib.sha256(data).hexdigest().encode(),
                               sha256.encode("utf-8", "replace")):
        claimed.rename(folder / f"{token}.csv")  # still there for the right form
        raise InputError("the file is not the one previewed: upload it again")
    return Upload(token, str(meta.get("name") or "members.csv"), sha256), claimed


def preview_import(ctx: Context, upload: Upload, actor: str) -> ImportPlan:
    """The dry run of a kept upload: nothing is written but the audit line. A file that
    cannot be used at all (``InputError``: no ``email`` column...) is not kept."""
    path = _folder(ctx) / f"{upload.token}.csv"
    with ctx.db.transaction() as connection:
        try:
            plan = plan_import(connection, path, member_rules(ctx.settings), upload.name)
        except InputError:
            path.unlink(missing_ok=True)
            path.with_suffix(".json").unlink(missing_ok=True)
            raise
        audit.record(connection, at=ctx.clock.now(), actor=actor,
                     action=audit.Action.MEMBERS_IMPORT_PREVIEW, target="members",
                     detail=_summary(upload, plan))
    return plan


def apply_upload(ctx: Context, token: str, sha256: str, actor: str, *,
                 update: bool) -> tuple[Upload, ImportPlan]:
    """Import the previewed upload (as the store is now) and forget it."""
    upload, path = _claim(ctx, token, sha256)
    try:
        with ctx.db.transaction() as connection:
            done = apply_import(connection, path, member_rules(ctx.settings),
                                ctx.clock.now(), update=update, shown=upload.name)
            audit.record(connection, at=ctx.clock.now(), actor=actor,
                         action=audit.Action.MEMBERS_IMPORT, target="members",
                         detail=_summary(upload, done))
    except BaseException:
        path.rename(path.parent / f"{token}.csv")  # not imported: may be applied again
        raise
    path.unlink(missing_ok=True)
    (path.parent / f"{token}.json").unlink(missing_ok=True)
    return upload, done


def _summary(upload: Upload, plan: ImportPlan) -> str:
    return (f"{upload.name} (sha256 {upload.sha256[:12]}): {len(plan.added)} added, "
            f"{len(plan.changed)} changed, {plan.unchanged} unchanged, "
            f"{len(plan.refused)} refused")
