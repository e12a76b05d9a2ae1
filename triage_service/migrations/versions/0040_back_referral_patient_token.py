"""The back-referral's patient as a blind index, so the NEN 7513 look-up by BSN finds its audit entries (issue 23).

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
