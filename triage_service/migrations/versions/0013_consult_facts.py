"""The monitoring's fact table (one narrow row per consult), filled from the existing consults.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def upgrade() -> None:
    op.create_table(
        "consult_facts",
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("zorggroep_id", sa.String(length=36), nullable=True),
        sa.Column("agreement_id", sa.String(length=36), nullable=True),
        sa.Column("practice_id", sa.String(length=36), nullable=False),
        sa.Column("specialism", sa.String(length=64), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("consult_form", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("gp_intent", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("converted", sa.Boolean(), nullable=False),
        sa.Column("answer_minutes", sa.Integer(), nullable=True),
        sa.Column("within_norm", sa.Boolean(), nullable=True),
        sa.Column("owner_agb", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["consult_id"], ["consults.id"], name=op.f("fk_consult_facts_consult_id_consults"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("consult_id", name=op.f("pk_consult_facts")),
    )
    with op.batch_alter_table("consult_facts", schema=None) as batch_op:
        batch_op.create_index("ix_consult_facts_window", ["zorggroep_id", "created_at"], unique=False)

    _backfill()


def _backfill() -> None:
    """Facts for the consults that exist already, computed as reports/facts.py does (kept here in
    plain SQL and Python, so this migration does not change when the models do)."""
    bind = op.get_bind()
    states = {"completed": "completed", "rejected": "rejected", "cancelled": "cancelled"}
    rows = bind.execute(
        sa.text(
            "SELECT c.id, a.zorggroep_id, c.agreement_id, c.organisation_id, c.specialism, c.created_at, "
            "c.consult_form, c.priority, c.gp_intent, c.category, t.likely_referral, t.status, c.outcome, "
            "c.converted_to_referral, c.completed_at, t.due_at, t.owner_agb FROM consults c "
            "JOIN consult_tasks t ON t.consult_id = c.id LEFT JOIN agreements a ON a.id = c.agreement_id"
        )
    ).all()
    facts = []
    for row in rows:
        created, completed, due = (_utc(row.created_at), _utc(row.completed_at), _utc(row.due_at))
        assert created is not None
        done = row.status == "completed" and completed is not None
        facts.append(
            {
                "consult_id": row.id,
                "zorggroep_id": row.zorggroep_id,
                "agreement_id": row.agreement_id,
                "practice_id": row.organisation_id,
                "specialism": row.specialism,
                "created_at": created.replace(tzinfo=None),
                "week": (created.astimezone(AMSTERDAM).date() - date(2001, 1, 1)).days // 7,
                "consult_form": row.consult_form,
                "priority": row.priority,
                "gp_intent": row.gp_intent,
                "category": row.category,
                "flagged": bool(row.likely_referral),
                "state": states.get(row.status, "open"),
                "outcome": row.outcome,
                "converted": bool(row.converted_to_referral),
                "answer_minutes": int((completed - created).total_seconds() // 60) if done and completed else None,
                "within_norm": (due is None or completed <= due) if done and completed else None,
                "owner_agb": row.owner_agb,
            }
        )
    if facts:
        op.bulk_insert(sa.table("consult_facts", *(sa.column(name) for name in facts[0])), facts)


def _utc(value: object) -> datetime | None:
    """Stored timestamps are naive UTC (SQLite hands them back as text)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def downgrade() -> None:
    with op.batch_alter_table("consult_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_consult_facts_window")

    op.drop_table("consult_facts")
