"""Subscription notifications for back-referral Tasks (issue 23).

A GP system that subscribed to its Tasks is owed an event when a back-referral is sent to its practice and when
the Task changes after that (the practice's question, the specialist's answer, the take-over), as it is for a
consult's Task. The outbox row named only consult Tasks (``task_id``, a foreign key to consult_tasks), so it
gets a second, nullable foreign key ``back_referral_id`` to back_referrals, ``task_id`` becomes nullable, and a
CHECK constraint keeps exactly one of the two set. Two keys rather than one free-text Task id: the database
still refuses an event naming a row that does not exist, and the worker sees from the row which Task it is
(a back-referral's Task id is its ``task_id`` with the ``terugverwijzing-`` prefix, fhir/back_referrals.py).
Its events are deleted with the back-referral (ON DELETE CASCADE): nothing is left to announce.

Downgrading deletes the events about back-referrals (the old schema cannot hold them) before ``task_id`` is
made required again.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

_CHECK = "(task_id IS NULL) <> (back_referral_id IS NULL)"


def upgrade() -> None:
    # batch_alter_table: SQLite alters a column's nullability and adds constraints only by copying the table.
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("back_referral_id", sa.String(length=36), nullable=True))
        batch_op.alter_column("task_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.create_foreign_key(batch_op.f("fk_notification_outbox_back_referral_id_back_referrals"),
                                    "back_referrals", ["back_referral_id"], ["id"], ondelete="CASCADE")
        batch_op.create_index(batch_op.f("ix_notification_outbox_back_referral_id"), ["back_referral_id"],
                              unique=False)
        batch_op.create_check_constraint(batch_op.f("ck_notification_outbox_one_task"), _CHECK)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM notification_outbox WHERE back_referral_id IS NOT NULL"))
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_notification_outbox_one_task"), type_="check")
        batch_op.drop_index(batch_op.f("ix_notification_outbox_back_referral_id"))
        batch_op.drop_constraint(batch_op.f("fk_notification_outbox_back_referral_id_back_referrals"),
                                 type_="foreignkey")
        batch_op.alter_column("task_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.drop_column("back_referral_id")
