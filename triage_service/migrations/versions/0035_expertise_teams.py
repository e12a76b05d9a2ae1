"""Expertise teams and the take step (issue 23, point 3): teams of first- and second-line members, taking a consult, the team's case discussion (MDO).

The team (its contracting organisation and its members, each with their own organisation), the MDO agenda and
the answers sent on the team's behalf. Taking a consult from a queue needs no table: the Task changes owner
and a DeadlineEvent ("queue-taken") says who took it.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

_DATETIME = triage_service.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "expertise_teams",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("updated_at", _DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_expertise_teams_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expertise_teams")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_expertise_teams_organisation_id")),
    )
    op.create_table(
        "expertise_team_members",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("practitioner_id", sa.String(length=36), nullable=False),
        sa.Column("discipline", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["expertise_teams.id"],
                                name=op.f("fk_expertise_team_members_team_id_expertise_teams"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["practitioner_id"], ["practitioners.id"],
                                name=op.f("fk_expertise_team_members_practitioner_id_practitioners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expertise_team_members")),
        sa.UniqueConstraint("team_id", "practitioner_id", name=op.f("uq_expertise_team_members_team_id")),
    )
    with op.batch_alter_table("expertise_team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expertise_team_members_team_id"), ["team_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expertise_team_members_practitioner_id"), ["practitioner_id"],
                              unique=False)
    op.create_table(
        "mdo_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("mdo_date", sa.Date(), nullable=False),
        sa.Column("placed_by_agb", sa.String(length=8), nullable=True),
        sa.Column("placed_by_name", sa.String(length=200), nullable=False),
        sa.Column("placed_at", _DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"],
                                name=op.f("fk_mdo_entries_consult_id_consults"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["expertise_teams.id"],
                                name=op.f("fk_mdo_entries_team_id_expertise_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdo_entries")),
        sa.UniqueConstraint("consult_id", name=op.f("uq_mdo_entries_consult_id")),
    )
    with op.batch_alter_table("mdo_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mdo_entries_team_id"), ["team_id"], unique=False)
    op.create_table(
        "team_answers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("team_name", sa.String(length=200), nullable=False),
        sa.Column("member_agb", sa.String(length=8), nullable=True),
        sa.Column("member_name", sa.String(length=200), nullable=False),
        sa.Column("answered_at", _DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"],
                                name=op.f("fk_team_answers_consult_id_consults"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["consult_messages.id"],
                                name=op.f("fk_team_answers_message_id_consult_messages"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["expertise_teams.id"],
                                name=op.f("fk_team_answers_team_id_expertise_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_answers")),
        sa.UniqueConstraint("message_id", name=op.f("uq_team_answers_message_id")),
    )
    with op.batch_alter_table("team_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_answers_consult_id"), ["consult_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_team_answers_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("team_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_answers_team_id"))
        batch_op.drop_index(batch_op.f("ix_team_answers_consult_id"))
    op.drop_table("team_answers")
    with op.batch_alter_table("mdo_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mdo_entries_team_id"))
    op.drop_table("mdo_entries")
    with op.batch_alter_table("expertise_team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expertise_team_members_practitioner_id"))
        batch_op.drop_index(batch_op.f("ix_expertise_team_members_team_id"))
    op.drop_table("expertise_team_members")
    op.drop_table("expertise_teams")
