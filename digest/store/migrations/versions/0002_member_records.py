"""The members' own records: consent and the choices waiting for confirmation, erasure
(suppression list, anonymous counts) and bounce reports (issue 12).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('suppressed_addresses',
        sa.Column('address_hash', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('address_hash')
    )
    op.create_table('consents',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=False),
        sa.Column('page', sa.String(length=200), nullable=False),
        sa.Column('wording', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_consents_subscriber', 'consents', ['subscriber_id'], unique=False)
    op.create_table('erased_deliveries',
        sa.Column('edition_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['edition_id'], ['editions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('edition_id', 'status')
    )
    op.create_table('bounce_reports',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('report_key', sa.String(length=64), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=True),
        sa.Column('delivery_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('report_key')
    )
    op.create_index('ix_bounce_reports_subscriber', 'bounce_reports',
                    ['subscriber_id', 'received_at'], unique=False)


    op.create_table('join_choices',
        sa.Column('consent_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('digests', sa.JSON(), nullable=False),
        sa.Column('themes', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['consent_id'], ['consents.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('consent_id')
    )


def downgrade() -> None:
    op.drop_table('join_choices')
    op.drop_index('ix_bounce_reports_subscriber', table_name='bounce_reports')
    op.drop_table('bounce_reports')
    op.drop_table('erased_deliveries')
    op.drop_index('ix_consents_subscriber', table_name='consents')
    op.drop_table('consents')
    op.drop_table('suppressed_addresses')
