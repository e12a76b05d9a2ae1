"""An index for every FHIR search parameter and inbox filter (checked on PostgreSQL by tests/test_query_plans.py).

The owner index becomes (owner_agb, status): a specialist's open consults are then read without their answered
ones, for the inbox and for routing's load per candidate.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index("ix_appointments_org_status", ["organisation_id", "status"], unique=False)

    with op.batch_alter_table("consult_messages", schema=None) as batch_op:
        batch_op.create_index("ix_consult_messages_sent_at", ["sent_at"], unique=False)

    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consult_tasks_owner_agb"))
        batch_op.create_index("ix_consult_tasks_org_business", ["organisation_id", "business_status"], unique=False)
        batch_op.create_index("ix_consult_tasks_owner_status", ["owner_agb", "status", "owner_kind"], unique=False)

    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.create_index("ix_consults_requester", ["requester_agb"], unique=False)
        # Covering for the referral flags' conversion figure (counted at every flagged intake).
        batch_op.drop_index("ix_consults_similar")
        batch_op.create_index(
            "ix_consults_similar",
            ["specialism", "primary_icpc", "status", "category", "converted_to_referral"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.drop_index("ix_consults_similar")
        batch_op.create_index("ix_consults_similar", ["specialism", "primary_icpc", "status"], unique=False)
        batch_op.drop_index("ix_consults_requester")

    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_consult_tasks_owner_status")
        batch_op.drop_index("ix_consult_tasks_org_business")
        batch_op.create_index(batch_op.f("ix_consult_tasks_owner_agb"), ["owner_agb"], unique=False)

    with op.batch_alter_table("consult_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_consult_messages_sent_at")

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_org_status")
