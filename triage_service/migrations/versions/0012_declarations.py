"""S3 declaration lines and batches; the average referral cost per agreement (business case).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "declaration_batches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("zorggroep_id", sa.String(length=36), nullable=False),
        sa.Column("insurer_uzovi", sa.String(length=4), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("closed_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("closed_by", sa.String(length=200), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["zorggroep_id"], ["organisations.id"], name=op.f("fk_declaration_batches_zorggroep_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declaration_batches")),
        sa.UniqueConstraint(
            "zorggroep_id", "insurer_uzovi", "period", name=op.f("uq_declaration_batches_zorggroep_id")
        ),
    )
    with op.batch_alter_table("declaration_batches", schema=None) as batch_op:
        batch_op.create_index("ix_declaration_batches_number", ["zorggroep_id", "number"], unique=True)

    op.create_table(
        "declaration_lines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("zorggroep_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("practice_agb", sa.String(length=8), nullable=False),
        sa.Column("insurer_uzovi", sa.String(length=4), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("prestatie_code", sa.String(length=32), nullable=False),
        sa.Column("tariff_cents", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("corrects_line_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["declaration_batches.id"], name=op.f("fk_declaration_lines_batch_id_declaration_batches")
        ),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"], name=op.f("fk_declaration_lines_consult_id_consults")),
        sa.ForeignKeyConstraint(
            ["corrects_line_id"],
            ["declaration_lines.id"],
            name=op.f("fk_declaration_lines_corrects_line_id_declaration_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["zorggroep_id"], ["organisations.id"], name=op.f("fk_declaration_lines_zorggroep_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declaration_lines")),
        sa.UniqueConstraint("consult_id", "sequence", name=op.f("uq_declaration_lines_consult_id")),
    )
    with op.batch_alter_table("declaration_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_declaration_lines_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_declaration_lines_consult_id"), ["consult_id"], unique=False)
        batch_op.create_index(
            "ix_declaration_lines_pending", ["zorggroep_id", "insurer_uzovi", "batch_id"], unique=False
        )

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("average_referral_cost_cents", sa.Integer(), nullable=True))

    _immutability_triggers()


def _immutability_triggers() -> None:
    """What an insurer has received never changes, not even by hand in SQL: a line in a batch, and the
    batch itself, refuse UPDATE. (A pending correction line may still be put into a batch.)"""
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION refuse_declaration_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'declarations in a batch are immutable'; END $$"
        )
        op.execute(
            "CREATE TRIGGER declaration_lines_immutable BEFORE UPDATE ON declaration_lines "
            "FOR EACH ROW WHEN (OLD.batch_id IS NOT NULL) EXECUTE FUNCTION refuse_declaration_change()"
        )
        op.execute(
            "CREATE TRIGGER declaration_batches_immutable BEFORE UPDATE ON declaration_batches "
            "FOR EACH ROW EXECUTE FUNCTION refuse_declaration_change()"
        )
    else:
        op.execute(
            "CREATE TRIGGER declaration_lines_immutable BEFORE UPDATE ON declaration_lines "
            "WHEN OLD.batch_id IS NOT NULL BEGIN SELECT RAISE(ABORT, 'declarations in a batch are immutable'); END"
        )
        op.execute(
            "CREATE TRIGGER declaration_batches_immutable BEFORE UPDATE ON declaration_batches "
            "BEGIN SELECT RAISE(ABORT, 'declarations in a batch are immutable'); END"
        )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS declaration_lines_immutable" + _on("declaration_lines"))
    op.execute("DROP TRIGGER IF EXISTS declaration_batches_immutable" + _on("declaration_batches"))
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refuse_declaration_change()")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("average_referral_cost_cents")

    with op.batch_alter_table("declaration_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_declaration_lines_pending")
        batch_op.drop_index(batch_op.f("ix_declaration_lines_consult_id"))
        batch_op.drop_index(batch_op.f("ix_declaration_lines_batch_id"))

    op.drop_table("declaration_lines")
    with op.batch_alter_table("declaration_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_declaration_batches_number")

    op.drop_table("declaration_batches")


def _on(table: str) -> str:
    return f" ON {table}" if op.get_context().dialect.name == "postgresql" else ""
