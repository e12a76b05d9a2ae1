"""Daily work in the inbox: time registered per action, personal text snippets, and the agreement's norm
time per consult form (normtijd).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "text_snippets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_text_snippets_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_snippets")),
    )
    with op.batch_alter_table("text_snippets", schema=None) as batch_op:
        batch_op.create_index("ix_text_snippets_user", ["user_id", "title"], unique=False)

    op.create_table(
        "time_registrations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("practitioner_agb", sa.String(length=8), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("registered_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"], name=op.f("fk_time_registrations_consult_id_consults"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_time_registrations_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_registrations")),
    )
    with op.batch_alter_table("time_registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_time_registrations_consult_id"), ["consult_id"], unique=False)
        batch_op.create_index("ix_time_registrations_practitioner", ["practitioner_agb", "action", "registered_at"],
                              unique=False)

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("norm_minutes", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("norm_minutes")
    with op.batch_alter_table("time_registrations", schema=None) as batch_op:
        batch_op.drop_index("ix_time_registrations_practitioner")
        batch_op.drop_index(batch_op.f("ix_time_registrations_consult_id"))
    op.drop_table("time_registrations")
    with op.batch_alter_table("text_snippets", schema=None) as batch_op:
        batch_op.drop_index("ix_text_snippets_user")
    op.drop_table("text_snippets")
