"""attachments

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("original_size", sa.BigInteger(), nullable=False),
        sa.Column("original_sha1", sa.LargeBinary(length=20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("blob_id", sa.String(length=36), nullable=False),
        sa.Column("thumbnail_blob_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_id"], ["encrypted_blobs.id"], name=op.f("fk_attachments_blob_id_encrypted_blobs")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_attachments_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["thumbnail_blob_id"], ["encrypted_blobs.id"], name=op.f("fk_attachments_thumbnail_blob_id_encrypted_blobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_organisation_id"), ["organisation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_organisation_id"))

    op.drop_table("attachments")
