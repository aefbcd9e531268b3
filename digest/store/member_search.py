"""Finding members for coordinators: by part of the address or name, by state, a page at a
time.

The query is text, never SQL: it is bound as a parameter and its ``%``, ``_`` and ``\\``
are escaped, so ``a_b`` finds ``a_b`` and not ``axb``. It is bounded (``MAX_QUERY_CHARS``)
and so is the page, so no search asks the store for more than one page of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, func, or_, select

from digest.errors import InputError
from digest.models import Subscriber, SubscriberStatus
from digest.store.keys import plain_text
from digest.store.schema import subscribers
from digest.store.subscribers import _to_subscriber

MAX_QUERY_CHARS = 200
PAGE_SIZE = 50
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Found:
    """One page of the members a search finds, and how many it finds in all."""

    members: list[Subscriber]
    total: int
    page: int
    pages: int


def _like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it literally anywhere (escape ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(query: str, status: SubscriberStatus | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query:
        pattern = _like(query.lower())
        conditions.append(or_(subscribers.c.email.like(pattern, escape="\\"),
                              func.lower(subscribers.c.name).like(pattern, escape="\\")))
    if status is not None:
        conditions.append(subscribers.c.status == status.value)
    return conditions


def search(connection: Connection, query: str, status: SubscriberStatus | None = None,
           page: int = 1, page_size: int = PAGE_SIZE) -> Found:
    """The members whose address or name holds ``query`` (any case; empty: everyone), in
    ``status`` when given, by address; ``InputError`` for a query over
    ``MAX_QUERY_CHARS``. A page past the last one shows the last."""
    query = query.strip()
    if len(query) > MAX_QUERY_CHARS:
        raise InputError(f"a search is at most {MAX_QUERY_CHARS} characters")
    if not plain_text(query):
        raise InputError("a search cannot hold control characters")
    conditions = _where(query, status)
    total = int(connection.execute(
        select(func.count()).select_from(subscribers).where(*conditions)).scalar() or 0)
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages, MAX_PAGE)
    rows = connection.execute(
        select(subscribers).where(*conditions).order_by(subscribers.c.email)
        .offset((page - 1) * page_size).limit(page_size)).mappings()
    return Found([_to_subscriber(row) for row in rows], total, page, pages)


def in_status(connection: Connection, status: SubscriberStatus,
              limit: int = 500) -> list[Subscriber]:
    """Members in one state (bounced, for the problems page), by address, at most
    ``limit``."""
    rows = connection.execute(
        select(subscribers).where(subscribers.c.status == status.value)
        .order_by(subscribers.c.email).limit(limit)).mappings()
    return [_to_subscriber(row) for row in rows]
