"""An index on the time a consult was answered (declarations start from the last closed month).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.create_index("ix_consults_completed_at", ["completed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.drop_index("ix_consults_completed_at")
