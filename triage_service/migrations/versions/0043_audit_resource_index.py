"""An index on audit entries by resource (issue 25).

One patient's audit trail (audit/queries.py ``patient_history``, the NEN 7513 look-up) is the entries naming the
patient, and those about the patient's photos and documents from before anything said whose they were: entries
found by ``resource_id``. Without an index on it PostgreSQL read every entry for the OR: 2.7 s with a country's
14 million entries. With it, the three conditions are three index look-ups (a BitmapOr).

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_entries_resource", "audit_entries", ["resource_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_entries_resource", table_name="audit_entries")
