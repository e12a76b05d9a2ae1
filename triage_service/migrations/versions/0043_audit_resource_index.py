"""Indexes for one patient's audit trail (issue 25).

The NEN 7513 look-up (audit/queries.py ``patient_history``) finds the patient's Patient resources in every
practice by the BSN's blind index, then the entries naming the patient and those about the patient's photos and
documents from before anything said whose they were (found by ``resource_id``). The Patient index led with the
practice, so the first step read every stored resource (0.2 s with a country's 1.3 million patients), and
without an index on ``resource_id`` the second read every entry (2.7 s with 14 million). Now each is a look-up.

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
    op.create_index("ix_stored_resources_token", "stored_resources", ["identifier_token"])


def downgrade() -> None:
    op.drop_index("ix_stored_resources_token", table_name="stored_resources")
    op.drop_index("ix_audit_entries_resource", table_name="audit_entries")
