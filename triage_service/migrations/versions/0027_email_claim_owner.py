"""Who holds an e-mail notice's sending claim: a worker clears only its own claim.

Before, a worker claimed up to 50 notices for a fixed 5 minutes and cleared each notice's claim whoever held
it; with a slow mail server another worker took over the notices not sent yet, and both sent them.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
# After 0026 (server-side sessions), the head when this was written: one head, or nothing migrates.
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
