"""Appointments of video consults and ECMS visits; who books them; when an appointment was first offered.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("practitioner_agb", sa.String(length=8), nullable=False),
        sa.Column("practitioner_name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "booked",
                "cancelled",
                "fulfilled",
                "noshow",
                name="appointmentstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("start", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("end", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("video", sa.Boolean(), nullable=False),
        sa.Column("meeting_url", sa.Text(), nullable=True),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("gp_joins", sa.Boolean(), nullable=False),
        sa.Column("booked_by", sa.String(length=16), nullable=True),
        sa.Column("cancelled_by", sa.String(length=16), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("replaces_id", sa.String(length=36), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"], name=op.f("fk_appointments_consult_id_consults")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_appointments_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"], ["appointments.id"], name=op.f("fk_appointments_replaces_id_appointments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointments_consult_id"), ["consult_id"], unique=False)
        batch_op.create_index("ix_appointments_org_updated", ["organisation_id", "updated_at"], unique=False)
        batch_op.create_index("ix_appointments_practitioner_start", ["practitioner_agb", "start"], unique=False)
        # Like every referencing column (0017): deleting an appointment checks what replaces it.
        batch_op.create_index("ix_appointments_replaces_id", ["replaces_id"], unique=False)

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        # Existing agreements keep today's behaviour: the GP system books.
        batch_op.add_column(sa.Column("appointment_booking", sa.String(length=16), nullable=False, server_default="gp"))
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.alter_column("appointment_booking", server_default=None)

    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("appointment_offered_at", triage_service.models.base.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.drop_column("appointment_offered_at")

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("appointment_booking")

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_replaces_id")
        batch_op.drop_index("ix_appointments_practitioner_start")
        batch_op.drop_index("ix_appointments_org_updated")
        batch_op.drop_index(batch_op.f("ix_appointments_consult_id"))

    op.drop_table("appointments")
