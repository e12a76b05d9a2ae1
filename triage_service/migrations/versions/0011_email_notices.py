"""E-mail notices of new assignments: the specialist's address and choice, and the outbox the worker sends.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("claimed_until", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("sent_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("abandoned_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_email_outbox_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
    )
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_outbox_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        # Existing accounts have not asked for e-mail; the default only fills them in.
        batch_op.add_column(sa.Column("email_on_assignment", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("email_on_assignment", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_on_assignment")
        batch_op.drop_column("email")

    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_outbox_user_id"))

    op.drop_table("email_outbox")
