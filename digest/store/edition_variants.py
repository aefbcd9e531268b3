"""An edition's rendered variants kept for the workers' send jobs (worker mode).

The job that makes an edition renders it once; its send jobs, on any worker, read these
rows instead of rendering again. They hold the variants with the members' placeholders
(``models.PLACEHOLDERS``), no member's data, and are deleted once the edition is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from sqlalchemy import Connection, delete, insert, select

from digest.models import RenderedEmail
from digest.store.schema import edition_variants


def save(connection: Connection, edition_id: int, rendered: Mapping[str, RenderedEmail]) -> None:
    """Keep an edition's variants (replacing any kept before: a new render wins)."""
    connection.execute(delete(edition_variants).where(
        edition_variants.c.edition_id == edition_id))
    if rendered:
        connection.execute(insert(edition_variants), [
            {"edition_id": edition_id, "variant_key": key, "email": asdict(email)}
            for key, email in rendered.items()])


def load(connection: Connection, edition_id: int) -> dict[str, RenderedEmail]:
    """The kept variants of an edition by key (empty when none were kept)."""
    rows = connection.execute(select(edition_variants.c.variant_key, edition_variants.c.email)
                              .where(edition_variants.c.edition_id == edition_id))
    return {str(key): RenderedEmail(**email) for key, email in rows}


def keys(connection: Connection, edition_id: int) -> set[str]:
    """The keys of an edition's kept variants: a worker's send job compares them with the
    variants it keeps (a new render replaces them) without reading the variants."""
    return set(connection.execute(select(edition_variants.c.variant_key).where(
        edition_variants.c.edition_id == edition_id)).scalars())


def forget(connection: Connection, edition_id: int) -> None:
    """Drop an edition's kept variants (it is sent)."""
    connection.execute(delete(edition_variants).where(
        edition_variants.c.edition_id == edition_id))
