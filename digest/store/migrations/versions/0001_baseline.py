"""The baseline: the schema as it was when migrations began (every table before the
members' own ones). A database made before migrations existed is this revision: `digest db
upgrade` records it as such, then applies the rest.

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Every table and index, each only when missing: a database made before migrations
    has some or all of them (older versions created the missing ones on start)."""
    op.create_table('audit_log',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=320), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('target', sa.String(length=400), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        if_not_exists=True,
    )
    _index('ix_audit_log_at', 'audit_log', ['at'])
    op.create_table('bulletin_reviews',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('slug', sa.String(length=200), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('actor', sa.String(length=320), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('send_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True,
        if_not_exists=True,
    )
    _index('ix_bulletin_reviews_slug', 'bulletin_reviews', ['slug', 'id'])
    op.create_table('console_links',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('emailed', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
        if_not_exists=True,
    )
    _index('ix_console_links_email', 'console_links', ['email', 'created_at'])
    op.create_table('console_sessions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
        if_not_exists=True,
    )
    op.create_table('editions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('digest_id', sa.String(length=200), nullable=False),
        sa.Column('slot', sa.DateTime(timezone=True), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('period_start', sa.DateTime(timezone=True), nullable=True),
        sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('item_keys', sa.JSON(), nullable=False),
        sa.Column('omitted', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('digest_id', 'slot', name='uq_editions_digest_slot'),
        if_not_exists=True,
    )
    op.create_table('items',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=2048), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('link', sa.Text(), nullable=True),
        sa.Column('summary_html', sa.Text(), nullable=False),
        sa.Column('published', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated', sa.DateTime(timezone=True), nullable=True),
        sa.Column('themes', sa.JSON(), nullable=False),
        sa.Column('source_id', sa.String(length=200), nullable=False),
        sa.Column('event_start', sa.String(length=40), nullable=True),
        sa.Column('event_end', sa.String(length=40), nullable=True),
        sa.Column('location', sa.Text(), nullable=True),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
        if_not_exists=True,
    )
    _index('ix_items_first_seen', 'items', ['first_seen'])
    _index('ix_items_published', 'items', ['published'])
    # The feeds' order (schema.SHOWN_PUBLISHED): an expression, in parentheses for PostgreSQL.
    _index('ix_items_shown_published', 'items', [sa.text(
        '(CASE WHEN (published > first_seen) THEN first_seen ELSE published END)')])
    op.create_table('job_runs',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('job_id', sa.String(length=300), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        if_not_exists=True,
    )
    _index('ix_job_runs_job', 'job_runs', ['job_id', 'started_at'])
    op.create_table('source_state',
        sa.Column('id', sa.String(length=200), nullable=False),
        sa.Column('location', sa.Text(), nullable=False),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('etag', sa.Text(), nullable=True),
        sa.Column('last_modified', sa.Text(), nullable=True),
        sa.Column('disabled', sa.Text(), nullable=True),
        sa.Column('fingerprint', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        if_not_exists=True,
    )
    op.create_table('sources',
        sa.Column('id', sa.String(length=200), nullable=False),
        sa.Column('location', sa.Text(), nullable=False),
        sa.Column('last_attempt', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_success', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('consecutive_failures', sa.Integer(), nullable=False),
        sa.Column('items_seen', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        if_not_exists=True,
    )
    op.create_table('subscribers',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('digests', sa.JSON(), nullable=False),
        sa.Column('themes', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('email'),
        sqlite_autoincrement=True,
        if_not_exists=True,
    )
    op.create_table('curations',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('digest_id', sa.String(length=200), nullable=False),
        sa.Column('edition_id', sa.Integer(), nullable=False),
        sa.Column('item_key', sa.String(length=2048), nullable=False),
        sa.Column('action', sa.String(length=8), nullable=False),
        sa.Column('actor', sa.String(length=320), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['edition_id'], ['editions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('edition_id', 'item_key', name='uq_curations_edition_item'),
        if_not_exists=True,
    )
    _index('ix_curations_digest', 'curations', ['digest_id', 'action'])
    op.create_table('deliveries',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('edition_id', sa.Integer(), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=False),
        sa.Column('variant_key', sa.String(length=400), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('message_id', sa.String(length=400), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.String(length=300), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['edition_id'], ['editions.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('edition_id', 'subscriber_id', name='uq_deliveries_edition_subscriber'),
        if_not_exists=True,
    )
    _index('ix_deliveries_status', 'deliveries', ['edition_id', 'status'])
    op.create_table('edition_notes',
        sa.Column('edition_id', sa.Integer(), nullable=False),
        sa.Column('markdown', sa.Text(), nullable=False),
        sa.Column('actor', sa.String(length=320), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['edition_id'], ['editions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('edition_id'),
        if_not_exists=True,
    )
    op.create_table('edition_problems',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('edition_id', sa.Integer(), nullable=False),
        sa.Column('item_key', sa.String(length=2048), nullable=True),
        sa.Column('source_id', sa.String(length=200), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['edition_id'], ['editions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        if_not_exists=True,
    )
    _index('ix_edition_problems_edition', 'edition_problems', ['edition_id'])
    op.create_table('item_links',
        sa.Column('link_key', sa.String(length=2048), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('link_key'),
        if_not_exists=True,
    )
    op.create_table('item_sources',
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.String(length=200), nullable=False),
        sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('item_id', 'source_id'),
        if_not_exists=True,
    )


def _index(name: str, table: str, columns: list[str | sa.TextClause]) -> None:
    op.create_index(name, table, columns, unique=False, if_not_exists=True)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: restore the backup instead")
