"""Which digests a member receives, changed by the member: stopping one, choosing them.

A member's ``digests`` list says which digests (and so which bulletins: they go to the
followers of ``bulletins.audience``) reach them. Stopping the last one they follow is
leaving: the member becomes unsubscribed and keeps the list, so subscribing again from the
preferences page restores what they had.

Each change reads and writes the row in one transaction after a no-op update of it, which
takes the row's lock (PostgreSQL) or the database's write lock (SQLite) first: two
one-click requests at once (one per digest) cannot both keep the digest the other stopped.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import Connection

from digest.models import SubscriberStatus
from digest.store.keys import fits_integer
from digest.store.schema import subscribers
from digest.store.subscribers import by_id


class Stopped(StrEnum):
    """What stopping one digest did."""

    DIGEST = "digest"  # the digest stopped, others still come
    EVERYTHING = "everything"  # it was the last one: the member is unsubscribed
    NOT_FOLLOWED = "not-followed"  # it did not come to them: nothing changed
    NOT_ACTIVE = "not-active"  # they receive nothing already (unsubscribed, bounced...)
    UNKNOWN = "unknown"  # no such member


def _lock(connection: Connection, subscriber_id: int) -> None:
    """Take the member's row for this transaction (see the module's docstring)."""
    connection.execute(subscribers.update().where(subscribers.c.id == subscriber_id)
                       .values(status=subscribers.c.status))


def stop_digest(connection: Connection, subscriber_id: int, digest_id: str) -> Stopped:
    """Stop ``digest_id`` for an active member; their last digest stopped unsubscribes
    them (their list kept)."""
    if not fits_integer(subscriber_id):
        return Stopped.UNKNOWN
    _lock(connection, subscriber_id)
    member = by_id(connection, subscriber_id)
    if member is None:
        return Stopped.UNKNOWN
    if member.status is not SubscriberStatus.ACTIVE:
        return Stopped.NOT_ACTIVE
    if digest_id not in member.digests:
        return Stopped.NOT_FOLLOWED
    left = [d for d in member.digests if d != digest_id]
    if not left:
        connection.execute(subscribers.update().where(subscribers.c.id == subscriber_id)
                           .values(status=SubscriberStatus.UNSUBSCRIBED.value))
        return Stopped.EVERYTHING
    connection.execute(subscribers.update().where(subscribers.c.id == subscriber_id)
                       .values(digests=left))
    return Stopped.DIGEST


def set_digests(connection: Connection, subscriber_id: int, chosen: Iterable[str],
                known: Iterable[str]) -> bool:
    """Store the digests a member chose among ``known`` (the config's, in its order); ids
    they follow that the config no longer has are kept (they reach nobody, and come back
    with the digest). False when the member is unknown."""
    if not fits_integer(subscriber_id):
        return False
    _lock(connection, subscriber_id)
    member = by_id(connection, subscriber_id)
    if member is None:
        return False
    known = list(known)
    wanted = set(chosen)
    digests = [d for d in known if d in wanted]
    digests += [d for d in member.digests if d not in known and d not in digests]
    connection.execute(subscribers.update().where(subscribers.c.id == subscriber_id)
                       .values(digests=digests))
    return True
