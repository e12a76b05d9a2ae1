"""The GP portal: consults a practice prepares (drafts), and consults sent without a GP system.

A consult sent from the portal has no API client: ``consults.client_pk`` becomes nullable (the audit trail
names the GP who sent it). The new user roles (gp, practice-staff) need no change: the role column is a
plain string.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consult_drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.Enum("OPEN", "READY", "SENT", name="draftstatus", native_enum=False, length=16),
                  nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_consult_drafts_author_id_users")),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"], name=op.f("fk_consult_drafts_consult_id_consults")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_consult_drafts_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consult_drafts")),
    )
    with op.batch_alter_table("consult_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consult_drafts_organisation_id"), ["organisation_id"], unique=False)
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.alter_column("client_pk", existing_type=sa.String(length=36), nullable=True)


def downgrade() -> None:
    # Portal consults have no client; an older release cannot hold them, so the downgrade refuses rather
    # than delete consults (and their declarations) silently.
    connection = op.get_bind()
    if connection.execute(sa.text("SELECT COUNT(*) FROM consults WHERE client_pk IS NULL")).scalar():
        raise RuntimeError("Consults sent from the GP portal exist; a release before 0028 cannot hold them")
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.alter_column("client_pk", existing_type=sa.String(length=36), nullable=False)
    with op.batch_alter_table("consult_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consult_drafts_organisation_id"))
    op.drop_table("consult_drafts")
