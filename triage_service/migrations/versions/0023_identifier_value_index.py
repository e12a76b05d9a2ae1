"""An index for the search by identifier value without a system (ServiceRequest?identifier=HIS-1).

The unique constraint's index is (organisation_id, system, value): without the system, PostgreSQL walked a
whole index of consult_identifiers once the statistics were fresh (found by tests/test_query_plans.py in CI).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consult_identifiers", schema=None) as batch_op:
        batch_op.create_index("ix_consult_identifiers_org_value", ["organisation_id", "value"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("consult_identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_consult_identifiers_org_value")
