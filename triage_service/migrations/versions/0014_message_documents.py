"""Extra photos and documents a GP sends with an answer in the thread.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consult_messages", schema=None) as batch_op:
        # Existing messages carry no documents; the default only fills them in.
        batch_op.add_column(sa.Column("document_ids", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("consult_messages", schema=None) as batch_op:
        batch_op.alter_column("document_ids", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("consult_messages", schema=None) as batch_op:
        batch_op.drop_column("document_ids")
