"""Each Task knows whether its consult is urgent, so routing counts a candidate's open (urgent) work from the
owner index alone.

Routing joined every open Task of each candidate to its consult to count the urgent ones: a cost that grew
with the specialist's open work at every intake (100,000 consults in the database took intake from 62 to 40
requests/s). A consult's priority is set at intake and never changes, so the copy cannot drift.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_URGENT = ("urgent", "asap", "stat")


def upgrade() -> None:
    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()))
    tasks, consults = (
        sa.table("consult_tasks", sa.column("consult_id"), sa.column("urgent")),
        sa.table("consults", sa.column("id"), sa.column("priority")),
    )
    op.execute(
        tasks.update()
        .where(tasks.c.consult_id.in_(sa.select(consults.c.id).where(consults.c.priority.in_(_URGENT))))
        .values(urgent=True)
    )
    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.alter_column("urgent", server_default=None)
        batch_op.drop_index("ix_consult_tasks_owner_status")
        batch_op.create_index(
            "ix_consult_tasks_owner_status", ["owner_agb", "status", "owner_kind", "urgent"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_consult_tasks_owner_status")
        batch_op.create_index("ix_consult_tasks_owner_status", ["owner_agb", "status", "owner_kind"], unique=False)
        batch_op.drop_column("urgent")
