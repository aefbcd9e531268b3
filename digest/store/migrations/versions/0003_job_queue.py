"""The workers' job queue (issue 13): procrastinate's schema on PostgreSQL (nothing on
SQLite, where workers are refused), the reports of the jobs the workers ran, and the
rendered variants of the editions their send jobs send.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digest.store.job_queue import create_queue_schema, drop_queue_schema

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_reports',
        sa.Column('job_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('run', sa.String(length=32), nullable=True),
        sa.Column('task', sa.String(length=64), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('report', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('job_id')
    )
    op.create_index('ix_job_reports_run', 'job_reports', ['run'], unique=False)
    op.create_table('edition_variants',
        sa.Column('edition_id', sa.Integer(), nullable=False),
        sa.Column('variant_key', sa.String(length=400), nullable=False),
        sa.Column('email', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['edition_id'], ['editions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('edition_id', 'variant_key')
    )
    create_queue_schema(op.get_bind())


def downgrade() -> None:
    drop_queue_schema(op.get_bind())
    op.drop_table('edition_variants')
    op.drop_index('ix_job_reports_run', table_name='job_reports')
    op.drop_table('job_reports')
