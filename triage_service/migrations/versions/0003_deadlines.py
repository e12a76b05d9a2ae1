"""deadline monitor

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deadline_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("from_owner_agb", sa.String(length=8), nullable=True),
        sa.Column("to_owner_agb", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["consult_tasks.id"], name=op.f("fk_deadline_events_task_id_consult_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_events")),
    )
    with op.batch_alter_table("deadline_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadline_events_task_id"), ["task_id"], unique=False)

    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("near_due_flagged_at", triage_service.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", triage_service.models.base.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_consult_tasks_status_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_consult_tasks_status_due")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("near_due_flagged_at")

    with op.batch_alter_table("deadline_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadline_events_task_id"))

    op.drop_table("deadline_events")
