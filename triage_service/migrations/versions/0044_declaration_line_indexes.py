"""Fewer index entries per declaration line (issue 25: closing a month of 100,000 lines under 5 s).

Closing a month COPYs a hundred thousand lines, and every index costs an entry per line. The index on
``consult_id`` alone repeated the leading column of the unique (consult_id, sequence) constraint, which serves
every look-up by consult; it goes. The index on ``corrects_line_id`` (kept because PostgreSQL checks that
reference on every deleted line) becomes partial: only credit lines correct another, so debit lines add nothing. So
does the index of lines waiting for a batch (corrections; ``pending_corrections``): a closed month's lines have their
batch from the start.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

_CORRECTS = "ix_declaration_lines_corrects_line_id"
_ONLY_CREDITS = sa.text("corrects_line_id IS NOT NULL")
_PENDING = "ix_declaration_lines_pending"
_WAITING = sa.text("batch_id IS NULL")


def upgrade() -> None:
    op.drop_index("ix_declaration_lines_consult_id", table_name="declaration_lines")
    op.drop_index(_CORRECTS, table_name="declaration_lines")
    op.create_index(_CORRECTS, "declaration_lines", ["corrects_line_id"], postgresql_where=_ONLY_CREDITS,
                    sqlite_where=_ONLY_CREDITS)
    op.drop_index(_PENDING, table_name="declaration_lines")
    op.create_index(_PENDING, "declaration_lines", ["zorggroep_id", "insurer_uzovi"], postgresql_where=_WAITING,
                    sqlite_where=_WAITING)


def downgrade() -> None:
    op.drop_index(_PENDING, table_name="declaration_lines")
    op.create_index(_PENDING, "declaration_lines", ["zorggroep_id", "insurer_uzovi", "batch_id"])
    op.drop_index(_CORRECTS, table_name="declaration_lines")
    op.create_index(_CORRECTS, "declaration_lines", ["corrects_line_id"])
    op.create_index("ix_declaration_lines_consult_id", "declaration_lines", ["consult_id"])
