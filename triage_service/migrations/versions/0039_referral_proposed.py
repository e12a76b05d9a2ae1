"""A referral the GP did not authorise is proposed, not converted (issue 24): Tasks concluded with "referral
indicated" on a consult without conversion authorisation get business status referral-proposed, as new ones do
(consults/advice.py); the GP's own referrals accepted in triage keep referral-accepted.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.execute("UPDATE consult_tasks SET business_status = 'referral-proposed' "
               "WHERE business_status = 'converted-to-referral' AND consult_id IN (SELECT c.id FROM consults c "
               "WHERE c.conversion_authorised IS NULL OR c.conversion_authorised = false)")


def downgrade() -> None:
    op.execute("UPDATE consult_tasks SET business_status = 'converted-to-referral' "
               "WHERE business_status = 'referral-proposed'")
