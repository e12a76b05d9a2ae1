"""Urgent consults from out-of-hours posts: the on-call rota, the call-out until someone takes a consult, Web
Push subscriptions and their outbox; agreements admit HAP requesters by profile, priority and hour; the inbox's
queue puts urgent consults first.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

_OPEN = "status IN ('accepted', 'in-progress', 'on-hold')"


def upgrade() -> None:
    op.create_table(
        "on_call_shifts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("specialism", sa.String(length=64), nullable=False),
        sa.Column("practitioner_id", sa.String(length=36), nullable=False),
        sa.Column("backup_practitioner_id", sa.String(length=36), nullable=False),
        sa.Column("starts_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("ends_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["backup_practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_on_call_shifts_backup_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_on_call_shifts_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_on_call_shifts_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"], ["practitioners.id"], name=op.f("fk_on_call_shifts_practitioner_id_practitioners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_on_call_shifts")),
    )
    with op.batch_alter_table("on_call_shifts", schema=None) as batch_op:
        batch_op.create_index("ix_on_call_shifts_rota", ["organisation_id", "specialism", "starts_at"], unique=False)

    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("endpoint_hash", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("p256dh", sa.Text(), nullable=False),
        sa.Column("auth", sa.Text(), nullable=False),
        sa.Column("device", sa.String(length=120), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("last_success_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_push_subscriptions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint_hash", name=op.f("uq_push_subscriptions_endpoint_hash")),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscriptions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "push_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("sent_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("abandoned_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["push_subscriptions.id"],
            name=op.f("fk_push_outbox_subscription_id_push_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_outbox")),
    )
    with op.batch_alter_table("push_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_outbox_subscription_id"), ["subscription_id"], unique=False)

    op.create_table(
        "urgent_callouts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("stage_since", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("on_call_agb", sa.String(length=8), nullable=False),
        sa.Column("backup_agb", sa.String(length=8), nullable=True),
        sa.Column("group_agb", sa.String(length=8), nullable=False),
        sa.Column("repeat_minutes", sa.Integer(), nullable=False),
        sa.Column("escalate_after_minutes", sa.Integer(), nullable=False),
        sa.Column("next_alert_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("alerts_sent", sa.Integer(), nullable=False),
        sa.Column("taken_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("taken_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("taken_by_agb", sa.String(length=8), nullable=True),
        sa.Column("taken_by_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["taken_by_user_id"],
            ["users.id"],
            name=op.f("fk_urgent_callouts_taken_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["consult_tasks.id"], name=op.f("fk_urgent_callouts_task_id_consult_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_urgent_callouts")),
        sa.UniqueConstraint("task_id", name=op.f("uq_urgent_callouts_task_id")),
    )
    with op.batch_alter_table("urgent_callouts", schema=None) as batch_op:
        batch_op.create_index("ix_urgent_callouts_next_alert", ["next_alert_at"], unique=False)

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("out_of_hours_posts", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("callout", sa.JSON(), nullable=False, server_default="{}"))

    with op.batch_alter_table("consult_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taken_minutes", sa.Integer(), nullable=True))

    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_consult_tasks_open_queue")
    op.create_index(
        "ix_consult_tasks_open_queue",
        "consult_tasks",
        [
            "owner_agb",
            "owner_kind",
            sa.desc(sa.column("urgent")),
            sa.desc(sa.column("likely_referral")),
            "due_at",
            "created_at",
        ],
        unique=False,
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )

    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_practice_agb", sa.String(length=8), nullable=True))

    with op.batch_alter_table("patient_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requesters", sa.JSON(), nullable=False, server_default='["gp-practice"]'))
        batch_op.add_column(sa.Column("priorities", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("hours", sa.JSON(), nullable=True))

    # Existing rows got their defaults above; the models set these values in Python, so the schema equals them.
    for table, column in (
        ("agreements", "out_of_hours_posts"),
        ("agreements", "callout"),
        ("patient_profiles", "requesters"),
        ("patient_profiles", "priorities"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("patient_profiles", schema=None) as batch_op:
        batch_op.drop_column("hours")
        batch_op.drop_column("priorities")
        batch_op.drop_column("requesters")

    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.drop_column("patient_practice_agb")

    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_consult_tasks_open_queue")
    op.create_index(
        "ix_consult_tasks_open_queue",
        "consult_tasks",
        ["owner_agb", "owner_kind", sa.desc(sa.column("likely_referral")), "due_at", "created_at"],
        unique=False,
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )

    with op.batch_alter_table("consult_facts", schema=None) as batch_op:
        batch_op.drop_column("taken_minutes")

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("callout")
        batch_op.drop_column("out_of_hours_posts")

    with op.batch_alter_table("urgent_callouts", schema=None) as batch_op:
        batch_op.drop_index("ix_urgent_callouts_next_alert")

    op.drop_table("urgent_callouts")
    with op.batch_alter_table("push_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_outbox_subscription_id"))

    op.drop_table("push_outbox")
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_user_id"))

    op.drop_table("push_subscriptions")
    with op.batch_alter_table("on_call_shifts", schema=None) as batch_op:
        batch_op.drop_index("ix_on_call_shifts_rota")

    op.drop_table("on_call_shifts")
