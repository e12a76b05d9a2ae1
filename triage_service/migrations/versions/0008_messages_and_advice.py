"""consult messages and advice

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consult_messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "request-for-information",
                "information-provided",
                "advice",
                "general",
                name="messagecategory",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("sender_role", sa.String(length=16), nullable=False),
        sa.Column("sender_agb", sa.String(length=8), nullable=True),
        sa.Column("sender_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("in_response_to_id", sa.String(length=36), nullable=True),
        sa.Column("sent_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"], name=op.f("fk_consult_messages_consult_id_consults")),
        sa.ForeignKeyConstraint(
            ["in_response_to_id"],
            ["consult_messages.id"],
            name=op.f("fk_consult_messages_in_response_to_id_consult_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consult_messages")),
    )
    with op.batch_alter_table("consult_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consult_messages_consult_id"), ["consult_id"], unique=False)

    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referral_specialism", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("referral_urgency", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("time_spent_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.drop_column("time_spent_minutes")
        batch_op.drop_column("referral_urgency")
        batch_op.drop_column("referral_specialism")

    with op.batch_alter_table("consult_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consult_messages_consult_id"))

    op.drop_table("consult_messages")
