"""routing: absences, decisions, task owner by AGB

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "absences",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("practitioner_id", sa.String(length=36), nullable=False),
        sa.Column("starts_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("ends_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"], ["practitioners.id"], name=op.f("fk_absences_practitioner_id_practitioners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
    )
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.create_index(
            "ix_absences_practitioner_period", ["practitioner_id", "starts_at", "ends_at"], unique=False
        )

    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("agreement_id", sa.String(length=36), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_agb", sa.String(length=8), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name=op.f("fk_routing_decisions_agreement_id_agreements")
        ),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"], name=op.f("fk_routing_decisions_consult_id_consults")),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["patient_profiles.id"], name=op.f("fk_routing_decisions_profile_id_patient_profiles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decisions")),
    )
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routing_decisions_consult_id"), ["consult_id"], unique=False)

    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("owner_agb", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("owner_name", sa.String(length=200), nullable=True))
        batch_op.drop_index(batch_op.f("ix_consult_tasks_owner_reference"))
        batch_op.create_index(batch_op.f("ix_consult_tasks_owner_agb"), ["owner_agb"], unique=False)
        batch_op.drop_column("owner_reference")

    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agreement_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("profile_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_consults_agreement_id"), ["agreement_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_consults_agreement_id_agreements"), "agreements", ["agreement_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_consults_profile_id_patient_profiles"), "patient_profiles", ["profile_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_consults_profile_id_patient_profiles"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_consults_agreement_id_agreements"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_consults_agreement_id"))
        batch_op.drop_column("profile_id")
        batch_op.drop_column("agreement_id")

    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_reference", sa.VARCHAR(length=200), nullable=True))
        batch_op.drop_index(batch_op.f("ix_consult_tasks_owner_agb"))
        batch_op.create_index(batch_op.f("ix_consult_tasks_owner_reference"), ["owner_reference"], unique=False)
        batch_op.drop_column("owner_name")
        batch_op.drop_column("owner_agb")
        batch_op.drop_column("owner_kind")

    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_decisions_consult_id"))

    op.drop_table("routing_decisions")
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.drop_index("ix_absences_practitioner_period")

    op.drop_table("absences")
