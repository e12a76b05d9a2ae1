"""The patient's context with the consult (issue 23, point 5): medication, allergies and measurements sent with it.

The context items (encrypted JSON per resource, linked to the consult) and what each agreement requires per
consult form (Agreement.context_required).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

_DATETIME = triage_service.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "consult_context_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("contained_id", sa.String(length=64), nullable=True),
        sa.Column("resource", sa.JSON(), nullable=False),
        sa.Column("created_at", _DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"],
                                name=op.f("fk_consult_context_items_consult_id_consults"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_consult_context_items_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consult_context_items")),
    )
    with op.batch_alter_table("consult_context_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consult_context_items_consult_id"), ["consult_id"], unique=False)
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("context_required", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("context_required")
    with op.batch_alter_table("consult_context_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consult_context_items_consult_id"))
    op.drop_table("consult_context_items")
