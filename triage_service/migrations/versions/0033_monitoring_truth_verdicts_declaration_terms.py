"""Monitoring that tells the truth (issue 22): the answer norm pauses while a Task waits on the GP, the fact
row carries the due time, who answered, forwards and escalations and the GP's verdict; agreements carry their
monitoring targets, own costs and declaration terms; declaration lines keep those terms; the GP's verdicts.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

_DATETIME = triage_service.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "gp_verdicts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("useful", sa.Boolean(), nullable=False),
        sa.Column("without_advice", sa.String(length=16), nullable=False),
        sa.Column("referral_still_needed", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("answered_by", sa.String(length=64), nullable=False),
        sa.Column("answered_at", _DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"], name=op.f("fk_gp_verdicts_consult_id_consults"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gp_verdicts")),
        sa.UniqueConstraint("consult_id", name=op.f("uq_gp_verdicts_consult_id")),
    )
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("monitoring_targets", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("costs", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("declaration", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_by_agb", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("attestations", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_at", _DATETIME(), nullable=True))
    with op.batch_alter_table("consult_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", _DATETIME(), nullable=True))
        batch_op.add_column(sa.Column("paused_at", _DATETIME(), nullable=True))
        batch_op.add_column(sa.Column("answered_by_agb", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("forwarded", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("escalated", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("verdict_useful", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("verdict_without", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("verdict_referral_needed", sa.Boolean(), nullable=True))
    with op.batch_alter_table("declaration_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("declarant_agb", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("payee_agb", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("prestatie_kind", sa.String(length=32), nullable=True))
    # A Task waiting on the GP now: its pause began no later than its last change (the move to on-hold), so the
    # norm resumes from there rather than never moving (consults/norm_clock.py).
    op.execute("UPDATE consult_tasks SET paused_at = updated_at WHERE status = 'on-hold'")
    # Who answered the consults answered so far: the Task's owner when it was completed (no one has held a
    # completed Task since). The fact rows follow when `triage-service rebuild-facts` recomputes them.
    op.execute("UPDATE consults SET answered_by_agb = (SELECT owner_agb FROM consult_tasks "
               "WHERE consult_tasks.consult_id = consults.id AND consult_tasks.owner_kind = 'practitioner' "
               "AND consult_tasks.status = 'completed')")


def downgrade() -> None:
    with op.batch_alter_table("declaration_lines", schema=None) as batch_op:
        for column in ("prestatie_kind", "payee_agb", "declarant_agb"):
            batch_op.drop_column(column)
    with op.batch_alter_table("consult_facts", schema=None) as batch_op:
        for column in ("verdict_referral_needed", "verdict_without", "verdict_useful", "escalated", "forwarded",
                       "answered_by_agb", "paused_at", "due_at"):
            batch_op.drop_column(column)
    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.drop_column("paused_at")
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.drop_column("attestations")
        batch_op.drop_column("answered_by_agb")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        for column in ("declaration", "costs", "monitoring_targets"):
            batch_op.drop_column(column)
    op.drop_table("gp_verdicts")
