"""A patient's upload link may also be for a consult already sent: its photos join the open consult; and a GP
system may ask for one over FHIR ($patient-photo-link), so the link need not have been made by a user.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patient_upload_links", schema=None) as batch_op:
        batch_op.alter_column("draft_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.alter_column("created_by", existing_type=sa.String(length=36), nullable=True)
        batch_op.add_column(sa.Column("consult_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_patient_upload_links_consult_id"), ["consult_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_patient_upload_links_consult_id_consults"), "consults",
                                    ["consult_id"], ["id"])


def downgrade() -> None:
    op.execute("DELETE FROM patient_upload_links WHERE draft_id IS NULL OR created_by IS NULL")
    with op.batch_alter_table("patient_upload_links", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_patient_upload_links_consult_id_consults"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_patient_upload_links_consult_id"))
        batch_op.drop_column("consult_id")
        batch_op.alter_column("draft_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.alter_column("created_by", existing_type=sa.String(length=36), nullable=False)
