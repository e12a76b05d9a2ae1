"""NEN 7513 and a keyed audit chain: on whose behalf, the key id of each entry's HMAC, and the patient a
DocumentReference, Coverage or photo concerns.

Existing audit entries keep their plain SHA-256 hashes (``hash_key`` NULL) and are verified as such; the
first keyed entry chains onto the last of them, so editing an old entry still breaks a keyed hash.
A Patient concerns itself; documents and photos stored earlier get their patient when a consult next links
them (their content is encrypted, so this migration cannot read it).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_behalf_of", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("hash_key", sa.String(length=32), nullable=True))
    with op.batch_alter_table("stored_resources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_ref", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_stored_resources_patient_ref", ["patient_ref"], unique=False)
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_ref", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_attachments_patient_ref"), ["patient_ref"], unique=False)
    op.execute("UPDATE stored_resources SET patient_ref = id WHERE resource_type = 'Patient'")


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_patient_ref"))
        batch_op.drop_column("patient_ref")
    with op.batch_alter_table("stored_resources", schema=None) as batch_op:
        batch_op.drop_index("ix_stored_resources_patient_ref")
        batch_op.drop_column("patient_ref")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_column("hash_key")
        batch_op.drop_column("on_behalf_of")
