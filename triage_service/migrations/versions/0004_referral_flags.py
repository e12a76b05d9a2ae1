"""referral flags

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referral_flags",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("similar_total", sa.Integer(), nullable=False),
        sa.Column("similar_converted", sa.Integer(), nullable=False),
        sa.Column("flagged_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"], name=op.f("fk_referral_flags_consult_id_consults")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_flags")),
    )
    with op.batch_alter_table("referral_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_flags_consult_id"), ["consult_id"], unique=False)

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referral_flags", sa.JSON(), nullable=False, server_default="[]"))

    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("likely_referral", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("flag_note", sa.Text(), nullable=True))

    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.add_column(sa.Column("primary_icpc", sa.String(length=8), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("outcome", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("converted_to_referral", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("completed_at", triage_service.models.base.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_consults_similar", ["specialism", "primary_icpc", "status"], unique=False)

    with op.batch_alter_table("patient_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("categories", sa.JSON(), nullable=False, server_default='["meekijkconsult"]'))

    # Existing rows got defaults above; give existing consults their real primary ICPC code, then drop
    # the server defaults so the schema equals the models (which set these values in Python).
    consults = sa.table(
        "consults", sa.column("id", sa.String), sa.column("icpc_codes", sa.JSON), sa.column("primary_icpc", sa.String)
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(consults.c.id, consults.c.icpc_codes)).all():
        codes = row.icpc_codes or [""]
        connection.execute(consults.update().where(consults.c.id == row.id).values(primary_icpc=str(codes[0])[:8]))
    for table, column in (
        ("agreements", "referral_flags"),
        ("consult_tasks", "likely_referral"),
        ("consults", "primary_icpc"),
        ("patient_profiles", "categories"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("patient_profiles", schema=None) as batch_op:
        batch_op.drop_column("categories")

    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.drop_index("ix_consults_similar")
        batch_op.drop_column("completed_at")
        batch_op.drop_column("converted_to_referral")
        batch_op.drop_column("outcome")
        batch_op.drop_column("primary_icpc")

    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.drop_column("flag_note")
        batch_op.drop_column("likely_referral")

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("referral_flags")

    with op.batch_alter_table("referral_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_flags_consult_id"))

    op.drop_table("referral_flags")
