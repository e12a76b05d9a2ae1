"""encrypted blobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "encrypted_blobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("storage_name", sa.String(length=64), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encrypted_blobs")),
        sa.UniqueConstraint("storage_name", name=op.f("uq_encrypted_blobs_storage_name")),
    )
    with op.batch_alter_table("encrypted_blobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_encrypted_blobs_kek_id"), ["kek_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("encrypted_blobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_encrypted_blobs_kek_id"))

    op.drop_table("encrypted_blobs")
