"""One-time links for a patient to upload their own photos into a consult the practice prepares.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_upload_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("draft_id", sa.String(length=36), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("verified_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("used_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("closed_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("photo_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_patient_upload_links_created_by_users")),
        sa.ForeignKeyConstraint(["draft_id"], ["consult_drafts.id"],
                                name=op.f("fk_patient_upload_links_draft_id_consult_drafts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_patient_upload_links_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_upload_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_patient_upload_links_token_hash")),
    )
    with op.batch_alter_table("patient_upload_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_upload_links_draft_id"), ["draft_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_patient_upload_links_organisation_id"), ["organisation_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patient_upload_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_upload_links_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_patient_upload_links_draft_id"))
    op.drop_table("patient_upload_links")
