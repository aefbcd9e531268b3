"""The members' own records beyond their row: consent, erasure and bounce reports.

Tables of their own, on the schema's ``metadata``; revision 0002 of the migrations
(``migrations/versions``) adds them to a database made before them.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text

from digest.store.schema import UTCDateTime, metadata

# What a member agreed to, when, through which page, in which words, and when they confirmed
# it by following the mailed link (empty while pending; an imported member has no row).
consents = Table(
    "consents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"),
           nullable=False),
    Column("page", String(200), nullable=False),  # "/subscribe", "/subscribe/embed", ...
    Column("wording", Text, nullable=False),  # the consent text as shown, in its language
    Column("language", String(16), nullable=False),
    Column("given_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
)
Index("ix_consents_subscriber", consents.c.subscriber_id)

# Addresses erased at their owner's request, kept only as a SHA-256 of the normalised
# address: they receive nothing again (no import, no test) unless they subscribe anew.
suppressed_addresses = Table(
    "suppressed_addresses",
    metadata,
    Column("address_hash", String(64), primary_key=True),
    Column("reason", String(16), nullable=False),  # "erased"
    Column("since", UTCDateTime, nullable=False),
)

# An erased member's deliveries, kept only as counts per edition and status.
erased_deliveries = Table(
    "erased_deliveries",
    metadata,
    Column("edition_id", Integer, ForeignKey("editions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("count", Integer, nullable=False),
)

# Delivery status notifications (RFC 3464) and abuse reports (RFC 5965) read from the
# bounce mailbox; ``report_key`` (a hash of the report's Message-ID, or of its bytes) makes
# reading a mailbox twice count nothing twice.
bounce_reports = Table(
    "bounce_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_key", String(64), nullable=False, unique=True),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE")),
    Column("delivery_id", Integer, ForeignKey("deliveries.id", ondelete="SET NULL")),
    Column("kind", String(16), nullable=False),  # hard | soft | complaint | unmatched
    Column("detail", Text, nullable=False),  # status code and diagnostic, bounded
    Column("received_at", UTCDateTime, nullable=False),
)
Index("ix_bounce_reports_subscriber", bounce_reports.c.subscriber_id,
      bounce_reports.c.received_at)

# What a person asked for on the subscribe page (name, language, digests, themes), kept
# beside the consent it came with until its confirmation link is followed: only then does
# it become the member's (a known member's choices never change on an unconfirmed request).
join_choices = Table(
    "join_choices",
    metadata,
    Column("consent_id", Integer, ForeignKey("consents.id", ondelete="CASCADE"),
           primary_key=True),
    Column("name", Text, nullable=False),
    Column("language", String(16), nullable=False),
    Column("digests", JSON, nullable=False),
    Column("themes", JSON, nullable=False),
)
