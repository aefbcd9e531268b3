"""The tables: items and where they came from, editions, subscribers and the outbox.

SQLAlchemy Core on SQLite by default and PostgreSQL by URL; every timestamp column is stored
in UTC and read back time-zone aware (``UTCDateTime``), so no naive datetime leaves the store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    case,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import Grouping


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned aware, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store a naive datetime: {value.isoformat()}")
        converted = value.astimezone(UTC)
        return converted.replace(tzinfo=None) if dialect.name == "sqlite" else converted

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(2048), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("link", Text),
    Column("summary_html", Text, nullable=False),
    Column("published", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime),
    Column("themes", JSON, nullable=False),
    Column("source_id", String(200), nullable=False),
    # Events: ISO text so all-day dates and aware date-times both round-trip exactly.
    Column("event_start", String(40)),
    Column("event_end", String(40)),
    Column("location", Text),
    Column("content_hash", String(64), nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
)
Index("ix_items_first_seen", items.c.first_seen)
Index("ix_items_published", items.c.published)
SHOWN_PUBLISHED = case((items.c.published > items.c.first_seen, items.c.first_seen),
                       else_=items.c.published)
"""An item's publication as the feeds show it: never later than when it was first seen."""
# The feeds read the newest first by it and stop once full (store.feed_items).
# In parentheses: PostgreSQL indexes an expression only so written.
Index("ix_items_shown_published", Grouping(SHOWN_PUBLISHED))

item_sources = Table(
    "item_sources",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", String(200), primary_key=True),
    Column("first_seen", UTCDateTime, nullable=False),
)

# The links that name one article across sources (``Item.link_key``), and the item each
# names: a source that gives the same article another guid finds it here and adds itself
# to ``item_sources`` instead of storing it twice. A table of its own, so databases made
# before it existed gain it on start (their items gain their link when next collected).
item_links = Table(
    "item_links",
    metadata,
    Column("link_key", String(2048), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("location", Text, nullable=False),
    Column("last_attempt", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("items_seen", Integer, nullable=False, default=0),
)

# What the next poll of a source needs (models.SourceState): HTTP validators, where a
# permanent redirect moved it, and why it was disabled. A table of its own, so databases
# made before it existed gain it on start without a migration.
source_state = Table(
    "source_state",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("location", Text, nullable=False),  # the configured URL or path it belongs to
    Column("url", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("disabled", Text),
    Column("fingerprint", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

editions = Table(
    "editions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # A digest id, or "bulletin:<slug>" for a bulletin's single edition.
    Column("digest_id", String(200), nullable=False),
    Column("slot", UTCDateTime, nullable=False),
    Column("number", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("period_start", UTCDateTime),
    Column("period_end", UTCDateTime, nullable=False),
    Column("item_keys", JSON, nullable=False),
    Column("omitted", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("digest_id", "slot", name="uq_editions_digest_slot"),
)

# Why an edition could not be rendered (``item_key`` NULL: the edition itself, now
# ``failed``) and which items were left out of it because they could not be rendered. A
# table of its own, not a column of ``editions``: a database made before it existed gains
# it on start, so a version with this fix can still open (and unblock) an edition that an
# older one left stuck.
edition_problems = Table(
    "edition_problems",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition_id", Integer, ForeignKey("editions.id", ondelete="CASCADE"),
           nullable=False),
    Column("item_key", String(2048)),
    Column("source_id", String(200)),
    Column("reason", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)
Index("ix_edition_problems_edition", edition_problems.c.edition_id)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("name", Text, nullable=False),
    Column("language", String(16), nullable=False),
    Column("digests", JSON, nullable=False),
    Column("themes", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # A member's id is in their signed links: an id is never given again (SQLite would reuse
    # the highest id after a delete without AUTOINCREMENT; PostgreSQL's sequence never does),
    # so the link of a deleted member cannot act on a member added later.
    sqlite_autoincrement=True,
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition_id", Integer, ForeignKey("editions.id", ondelete="CASCADE"), nullable=False),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id"), nullable=False),
    Column("variant_key", String(400), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("message_id", String(400)),
    Column("updated_at", UTCDateTime, nullable=False),
    # Back-off: a row deferred by a temporary failure is not tried again before this.
    Column("next_attempt_at", UTCDateTime),
    # The claim of the process sending the row ("host:pid:nonce") while status is
    # "sending", and when that claim lapses if the process died without a word.
    Column("claimed_by", String(300)),
    Column("lease_until", UTCDateTime),
    UniqueConstraint("edition_id", "subscriber_id", name="uq_deliveries_edition_subscriber"),
)
# With ``id`` last, a sender's claim reads the next pending rows in order (claims.py).
Index("ix_deliveries_status", deliveries.c.edition_id, deliveries.c.status, deliveries.c.id)


# What the scheduler ran and how it went: `digest status` shows the last runs of each job.
job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(300), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("outcome", String(16), nullable=False),  # running | ok | failed | missed
    Column("detail", Text),
)
Index("ix_job_runs_job", job_runs.c.job_id, job_runs.c.started_at)

# What each job a worker ran reported (workers: docs/deploy.md), keyed by procrastinate's
# job id: `digest run --once --wait` reads back the reports of its run's jobs to print the
# one summary a run in one process prints.
job_reports = Table(
    "job_reports",
    metadata,
    Column("job_id", BigInteger, primary_key=True, autoincrement=False),
    Column("run", String(32)),  # the `run --once` that queued it, or NULL (the service)
    Column("task", String(64), nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("report", JSON, nullable=False),
)
Index("ix_job_reports_run", job_reports.c.run)

# An edition's variants as rendered when it was handed to the workers' send jobs (with the
# members' placeholders, no member's data), so a send job on any machine sends them
# without rendering again; forgotten once the edition is sent.
edition_variants = Table(
    "edition_variants",
    metadata,
    Column("edition_id", Integer, ForeignKey("editions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("variant_key", String(400), primary_key=True),
    Column("email", JSON, nullable=False),
)


# ----- the coordinators' console (docs/console.md). Tables of their own, so databases made
# before them gain them on start.

# A sign-in link's token (only its SHA-256 is kept) and when it was used: single-use.
console_links = Table(
    "console_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    # Mailed by the sign-in page (counted by its per-address limit); a link printed by
    # `digest coordinators link` is not.
    Column("emailed", Boolean, nullable=False, default=False, server_default=false()),
)
Index("ix_console_links_email", console_links.c.email, console_links.c.created_at)

# A signed-in coordinator's session (the cookie holds the token; the store its SHA-256):
# idle and absolute expiry, and sign-out, are checked here.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
)

# Every coordinator action: who, what, when, on which edition or bulletin, and why.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(320), nullable=False),  # an address, or "cli:<user>"
    Column("action", String(40), nullable=False),
    Column("target", String(400), nullable=False),  # "weekly/3", "bulletin:<slug>", ...
    Column("reason", Text),
    Column("detail", Text),
)
Index("ix_audit_log_at", audit_log.c.at)

# A bulletin's review decisions; the latest for its slug counts, and an approval holds only
# for the file's content it was given for (``content_hash``): an edit returns it to draft.
bulletin_reviews = Table(
    "bulletin_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slug", String(200), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("decision", String(16), nullable=False),  # approved | rejected
    Column("actor", String(320), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("reason", Text),  # an override's written reason, or a rejection's note
    Column("send_at", UTCDateTime),  # a schedule set in the console, over the file's
    sqlite_autoincrement=True,
)
Index("ix_bulletin_reviews_slug", bulletin_reviews.c.slug, bulletin_reviews.c.id)

# A digest draft's curation: items left out (never back in a later edition of the digest)
# or pinned first, and the editor's note shown above the items.
curations = Table(
    "curations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest_id", String(200), nullable=False),
    Column("edition_id", Integer, ForeignKey("editions.id", ondelete="CASCADE"),
           nullable=False),
    Column("item_key", String(2048), nullable=False),
    Column("action", String(8), nullable=False),  # omit | pin
    Column("actor", String(320), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("edition_id", "item_key", name="uq_curations_edition_item"),
)
Index("ix_curations_digest", curations.c.digest_id, curations.c.action)

edition_notes = Table(
    "edition_notes",
    metadata,
    Column("edition_id", Integer, ForeignKey("editions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("markdown", Text, nullable=False),
    Column("actor", String(320), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
