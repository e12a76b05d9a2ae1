"""The hash of a file as served (issue 24): a DocumentReference's attachment.size and .hash describe the
cleaned file at its url, not the upload. A PDF is stored as it came, so its served hash is the upload's;
a photo stored before this release keeps describing its upload (documents.served_description).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachments") as batch_op:
        batch_op.add_column(sa.Column("served_sha1", sa.LargeBinary(length=20), nullable=True))
    op.execute("UPDATE attachments SET served_sha1 = original_sha1 WHERE content_type = 'application/pdf'")


def downgrade() -> None:
    with op.batch_alter_table("attachments") as batch_op:
        batch_op.drop_column("served_sha1")
