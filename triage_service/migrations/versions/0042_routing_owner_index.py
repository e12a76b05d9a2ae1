"""An index on routing decisions by owner and time (issue 25).

Every intake asks when each candidate specialist was last assigned a consult (routing/assignment.py: ties in
open work go to whoever waited longest), ``max(decided_at)`` per ``owner_agb``. Without an index PostgreSQL
read the whole table for it on every intake: with a country's two million consults that is two million rows a
request. On (owner_agb, decided_at) the maximum is one index probe per candidate.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_routing_decisions_owner_decided", "routing_decisions", ["owner_agb", "decided_at"])


def downgrade() -> None:
    op.drop_index("ix_routing_decisions_owner_decided", table_name="routing_decisions")
