"""agreement content hash

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=False, server_default=""))
    # Existing rows got "" (they re-import once); the models set the value in Python, so drop the default.
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.alter_column("content_hash", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("content_hash")
