"""The back-referral's patient as a blind index, so the NEN 7513 look-up by BSN finds its audit entries (issue 23).

A back-referral is its own patient reference in the audit trail (models/back_referral.py), and its BSN is
sealed; the officer's look-up by BSN (audit/queries.patient_refs) finds it by ``patient_token``, the BSN's blind
index as a Patient's ``identifier_token`` holds it.

Existing rows are filled here, by opening each sealed BSN with the field keys of the running installation
(``init-db`` creates the app first, which configures them) and hashing it with its blind-index key: the same
keys, used the same way, as migration 0026's downgrade that opens sealed TOTP secrets. The column then becomes
NOT NULL. A later ``rotate-keys --index-key`` hashes these tokens again (records/sealing.py).

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

#: The BSN's naming system (fhir/dutch.py), spelled out so this migration does not change when the code does.
_BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"


def upgrade() -> None:
    with op.batch_alter_table("back_referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_token", sa.String(length=300), nullable=True))
    _backfill()
    with op.batch_alter_table("back_referrals", schema=None) as batch_op:
        batch_op.alter_column("patient_token", existing_type=sa.String(length=300), nullable=False)
        batch_op.create_index(batch_op.f("ix_back_referrals_patient_token"), ["patient_token"], unique=False)


def _backfill() -> None:
    connection = op.get_bind()
    rows = sa.table("back_referrals", sa.column("id", sa.String()), sa.column("patient_bsn", sa.Text()),
                    sa.column("patient_token", sa.String()))
    existing = connection.execute(sa.select(rows.c.id, rows.c.patient_bsn)).all()
    if not existing:
        return  # a new installation (or none sent yet): no keys needed
    from triage_service.encryption.fields import PREFIX, blind_index, unseal

    for back_id, sealed in existing:
        # A value written before field encryption is plain text (encryption/columns.py reads it so too).
        bsn = unseal(sealed, "back_referrals.patient_bsn") if sealed.startswith(PREFIX) else sealed
        connection.execute(rows.update().where(rows.c.id == back_id)
                           .values(patient_token=blind_index(_BSN_SYSTEM, bsn)))


def downgrade() -> None:
    with op.batch_alter_table("back_referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_back_referrals_patient_token"))
        batch_op.drop_column("patient_token")
