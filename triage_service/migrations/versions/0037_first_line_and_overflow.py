"""First-line specialists and the second opinion pool (issue 23, points 1 and 4): first-line declaration, overflow to a backup organisation.

The agreement's backup organisation (achtervang), the Task's moment of overflowing, and the overflow itself:
to whom, why, and at what fee.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

_DATETIME = triage_service.models.base.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backup", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overflowed_at", _DATETIME(), nullable=True))
    op.create_table(
        "overflows",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("agreement_id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("fee_cents", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("share_percent", sa.Integer(), nullable=True),
        sa.Column("from_owner_agb", sa.String(length=8), nullable=True),
        sa.Column("to_owner_kind", sa.String(length=16), nullable=False),
        sa.Column("to_owner_agb", sa.String(length=8), nullable=False),
        sa.Column("to_owner_name", sa.String(length=200), nullable=False),
        sa.Column("at", _DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"], name=op.f("fk_overflows_consult_id_consults"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"],
                                name=op.f("fk_overflows_agreement_id_agreements")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_overflows_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overflows")),
        sa.UniqueConstraint("consult_id", name=op.f("uq_overflows_consult_id")),
    )
    with op.batch_alter_table("overflows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_overflows_agreement_id"), ["agreement_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_overflows_organisation_id"), ["organisation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("overflows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_overflows_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_overflows_agreement_id"))
    op.drop_table("overflows")
    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.drop_column("overflowed_at")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("backup")
