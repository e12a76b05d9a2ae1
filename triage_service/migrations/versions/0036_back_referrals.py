"""Back-referral (issue 23, point 2): a specialist hands a patient back to the GP, who accepts or questions it.

One table holds the back-referral (ServiceRequest and the practice's Task), a second the practice's questions and
the specialist's answers (Communication).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

_DATETIME = triage_service.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "back_referrals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=True),
        sa.Column("practice_id", sa.String(length=36), nullable=False),
        sa.Column("specialist_id", sa.String(length=36), nullable=False),
        sa.Column("specialism", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Enum("pending", "questioned", "answered", "accepted", name="backreferralstatus",
                                    native_enum=False, length=16), nullable=False),
        sa.Column("patient_bsn", sa.Text(), nullable=False),
        sa.Column("patient_name", sa.Text(), nullable=False),
        sa.Column("patient_birth_date", sa.Date(), nullable=False),
        sa.Column("diagnosis_icpc", sa.String(length=8), nullable=False),
        sa.Column("diagnosis_text", sa.Text(), nullable=False),
        sa.Column("gp_plan", sa.Text(), nullable=False),
        sa.Column("care_programme", sa.String(length=32), nullable=True),
        sa.Column("rereferral_criteria", sa.Text(), nullable=False),
        sa.Column("available_for", sa.Text(), nullable=True),
        sa.Column("available_until", sa.Date(), nullable=True),
        sa.Column("sent_at", _DATETIME(), nullable=False),
        sa.Column("accepted_at", _DATETIME(), nullable=True),
        sa.Column("accepted_by_name", sa.String(length=200), nullable=True),
        sa.Column("updated_at", _DATETIME(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"], name=op.f("fk_back_referrals_consult_id_consults")),
        sa.ForeignKeyConstraint(["practice_id"], ["organisations.id"],
                                name=op.f("fk_back_referrals_practice_id_organisations")),
        sa.ForeignKeyConstraint(["specialist_id"], ["practitioners.id"],
                                name=op.f("fk_back_referrals_specialist_id_practitioners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_back_referrals")),
        sa.UniqueConstraint("task_id", name=op.f("uq_back_referrals_task_id")),
    )
    with op.batch_alter_table("back_referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_back_referrals_consult_id"), ["consult_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_back_referrals_specialist_id"), ["specialist_id"], unique=False)
        batch_op.create_index("ix_back_referrals_practice_status", ["practice_id", "status"], unique=False)
    op.create_table(
        "back_referral_messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("back_referral_id", sa.String(length=36), nullable=False),
        sa.Column("sender_role", sa.String(length=16), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", _DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(["back_referral_id"], ["back_referrals.id"],
                                name=op.f("fk_back_referral_messages_back_referral_id_back_referrals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_back_referral_messages")),
    )
    with op.batch_alter_table("back_referral_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_back_referral_messages_back_referral_id"), ["back_referral_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("back_referral_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_back_referral_messages_back_referral_id"))
    op.drop_table("back_referral_messages")
    with op.batch_alter_table("back_referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_back_referrals_practice_status")
        batch_op.drop_index(batch_op.f("ix_back_referrals_specialist_id"))
        batch_op.drop_index(batch_op.f("ix_back_referrals_consult_id"))
    op.drop_table("back_referrals")
