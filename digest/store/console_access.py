"""The console's sign-in links and sessions, kept by the SHA-256 of their tokens only.

Whoever reads the store (a backup, a leaked dump) learns no token that opens the console.
A link is used at most once: ``use_link`` marks it in the same UPDATE that checks it, so two
requests racing with one link cannot both win. A session ends at sign-out (``ended_at``), or
when its idle or absolute lifetime has passed (the caller gives both limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from digest.store.schema import console_links, console_sessions


@dataclass(frozen=True)
class Session:
    """A live session: whose, and since when (the CSRF token is derived from its hash)."""

    token_hash: str
    email: str
    created_at: datetime
    last_seen: datetime


def add_link(connection: Connection, token_hash: str, email: str, now: datetime,
             lifetime: timedelta, *, emailed: bool = False) -> None:
    """A new link; ``emailed``: mailed by the sign-in page (it counts for the limit)."""
    connection.execute(insert(console_links).values(
        token_hash=token_hash, email=email, created_at=now, expires_at=now + lifetime,
        emailed=emailed))


def links_since(connection: Connection, email: str, since: datetime) -> int:
    """How many links were mailed to ``email`` after ``since`` (the per-address limit);
    printed ones (``digest coordinators link``) do not count."""
    return int(connection.execute(
        select(func.count()).select_from(console_links)
        .where(console_links.c.email == email, console_links.c.created_at > since,
               console_links.c.emailed.is_(True))
    ).scalar_one())


def use_link(connection: Connection, token_hash: str, now: datetime) -> str | None:
    """The address of an unused, unexpired link, which is used from now on; else None."""
    email = connection.execute(
        select(console_links.c.email).where(console_links.c.token_hash == token_hash)
    ).scalar_one_or_none()
    if email is None:
        return None
    marked = connection.execute(
        update(console_links)
        .where(console_links.c.token_hash == token_hash, console_links.c.used_at.is_(None),
               console_links.c.expires_at > now)
        .values(used_at=now))
    return str(email) if marked.rowcount == 1 else None


def link_usable(connection: Connection, token_hash: str, now: datetime) -> bool:
    """Whether a link would still sign in (shown before its button; nothing is marked)."""
    return connection.execute(
        select(console_links.c.id).where(
            console_links.c.token_hash == token_hash, console_links.c.used_at.is_(None),
            console_links.c.expires_at > now)
    ).first() is not None


def open_session(connection: Connection, token_hash: str, email: str, now: datetime) -> None:
    connection.execute(insert(console_sessions).values(
        token_hash=token_hash, email=email, created_at=now, last_seen=now))


def live_session(connection: Connection, token_hash: str, now: datetime, *,
                 idle: timedelta, absolute: timedelta, touch: bool = True) -> Session | None:
    """The session with this hash if neither ended nor expired; with ``touch`` its
    ``last_seen`` moves to ``now`` (written at most once a minute, so reading pages costs
    few writes)."""
    row = connection.execute(
        select(console_sessions).where(console_sessions.c.token_hash == token_hash,
                                       console_sessions.c.ended_at.is_(None))
    ).mappings().first()
    if row is None or now - row["last_seen"] >= idle or now - row["created_at"] >= absolute:
        return None
    if touch and now - row["last_seen"] >= timedelta(minutes=1):
        connection.execute(update(console_sessions)
                           .where(console_sessions.c.id == row["id"]).values(last_seen=now))
    return Session(token_hash=token_hash, email=row["email"], created_at=row["created_at"],
                   last_seen=now if touch else row["last_seen"])


def end_session(connection: Connection, token_hash: str, now: datetime) -> None:
    connection.execute(update(console_sessions)
                       .where(console_sessions.c.token_hash == token_hash,
                              console_sessions.c.ended_at.is_(None))
                       .values(ended_at=now))


def forget(connection: Connection, before: datetime) -> None:
    """Drop links that expired and sessions last seen or ended before ``before``: nothing
    in them can sign anyone in any more, and the tables stay small."""
    connection.execute(delete(console_links).where(console_links.c.expires_at < before))
    connection.execute(delete(console_sessions).where(or_(
        console_sessions.c.last_seen < before, console_sessions.c.ended_at < before)))
