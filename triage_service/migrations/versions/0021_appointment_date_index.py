"""An index for the GP system's Appointment search by date.

Found when tests/test_query_plans.py began to VACUUM its data as autovacuum would: with the visibility map
set, the date search read every appointment of the practice and filtered on the start.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index("ix_appointments_org_start", ["organisation_id", "start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_org_start")
