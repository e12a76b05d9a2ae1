"""Indexes on referencing columns that had none: deleting (retention) no longer scans whole tables.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consult_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consult_messages_in_response_to_id"), ["in_response_to_id"], unique=False)

    with op.batch_alter_table("declaration_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_declaration_lines_corrects_line_id"), ["corrects_line_id"], unique=False)

    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_outbox_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_outbox_task_id"))

    with op.batch_alter_table("declaration_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_declaration_lines_corrects_line_id"))

    with op.batch_alter_table("consult_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consult_messages_in_response_to_id"))
