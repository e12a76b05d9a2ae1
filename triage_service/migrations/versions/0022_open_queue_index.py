"""The inbox's queue in index order: a partial index over open Tasks by owner, flagged first, then due time.

The first page of a specialist's (or a group queue's) open consults was a sort of all of them: with
3,000 open consults for one specialist the inbox took 60 ms on PostgreSQL. With this index the page is
read in order and the scan stops after one page.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_OPEN = "status IN ('accepted', 'in-progress', 'on-hold')"


def upgrade() -> None:
    op.create_index(
        "ix_consult_tasks_open_queue",
        "consult_tasks",
        ["owner_agb", "owner_kind", sa.desc(sa.column("likely_referral")), "due_at", "created_at"],
        unique=False,
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_consult_tasks_open_queue", table_name="consult_tasks")
