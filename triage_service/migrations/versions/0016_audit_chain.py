"""The audit trail becomes a hash chain; existing entries are chained in the order they were written.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_index", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
    _chain_existing()
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column("chain_index", nullable=False)
        batch_op.alter_column("prev_hash", nullable=False)
        batch_op.alter_column("entry_hash", nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entries_chain_index"), ["chain_index"])


def _chain_existing() -> None:
    """The same digest as security/audit_chain.py, spelled out so this migration never changes."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, occurred_at, event, action, outcome, actor_kind, actor_id, organisation_id, "
            "resource_type, resource_id, patient_ref, source_ip, detail FROM audit_entries ORDER BY id"
        )
    ).all()
    previous = GENESIS
    for index, row in enumerate(rows, start=1):
        occurred = row.occurred_at
        if not isinstance(occurred, datetime):
            occurred = datetime.fromisoformat(str(occurred))
        if occurred.tzinfo is not None:
            occurred = occurred.astimezone(UTC).replace(tzinfo=None)
        content = [index, occurred.isoformat(timespec="microseconds"), row.event, row.action, row.outcome,
                   row.actor_kind, row.actor_id, row.organisation_id, row.resource_type, row.resource_id,
                   row.patient_ref, row.source_ip, row.detail, previous]
        digest = hashlib.sha256(json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
        bind.execute(
            sa.text("UPDATE audit_entries SET chain_index = :i, prev_hash = :p, entry_hash = :h WHERE id = :id"),
            {"i": index, "p": previous, "h": digest, "id": row.id},
        )
        previous = digest


def downgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_entries_chain_index"), type_="unique")
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("chain_index")
