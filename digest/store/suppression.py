"""Addresses that must receive nothing: erased at their owner's request.

Only a SHA-256 of the normalised address is kept, so the list holds no address; a new
subscription confirmed by its owner lifts it (``lift``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from digest.store.member_tables import suppressed_addresses
from digest.store.subscribers import normalise_email


def address_hash(email: str) -> str:
    """The kept form of an address: SHA-256 of its normalised form, in hex."""
    return hashlib.sha256(normalise_email(email).encode("utf-8", "surrogatepass")).hexdigest()


def suppress(connection: Connection, email: str, reason: str, now: datetime) -> None:
    """Keep ``email`` from receiving anything again (idempotent)."""
    key = address_hash(email)
    if not is_suppressed(connection, email):
        connection.execute(insert(suppressed_addresses).values(
            address_hash=key, reason=reason, since=now))


def is_suppressed(connection: Connection, email: str) -> bool:
    return connection.execute(select(suppressed_addresses.c.address_hash).where(
        suppressed_addresses.c.address_hash == address_hash(email))).first() is not None


def lift(connection: Connection, email: str) -> bool:
    """The owner subscribed anew and confirmed: whether a suppression was lifted."""
    result = connection.execute(delete(suppressed_addresses).where(
        suppressed_addresses.c.address_hash == address_hash(email)))
    return bool(result.rowcount)
