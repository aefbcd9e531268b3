"""The outbox's status index gains ``id``: a sender's claim reads the next pending rows in
order instead of sorting every pending row of the edition per claim (issue 13, sending).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_deliveries_status", table_name="deliveries")
    op.create_index("ix_deliveries_status", "deliveries", ["edition_id", "status", "id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_deliveries_status", table_name="deliveries")
    op.create_index("ix_deliveries_status", "deliveries", ["edition_id", "status"],
                    unique=False)
