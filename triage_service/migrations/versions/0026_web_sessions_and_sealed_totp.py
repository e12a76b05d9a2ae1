"""Server-side inbox sessions (logout ends them everywhere), and room for sealed TOTP secrets.

A sealed secret (``enc:v1:<key id>:<base64>``, about 100 characters) does not fit the old String(64).
Upgrading only widens the column: plaintext secrets still read, and ``triage-service encrypt-existing``
seals them (as for the other encrypted fields). The downgrade opens sealed secrets again, with the field
keys of the running installation, because an older release reads the column as plain base32.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("ended_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("totp_secret", existing_type=sa.String(length=64), type_=sa.Text(),
                              existing_nullable=False)


def downgrade() -> None:
    from triage_service.encryption.fields import PREFIX, unseal

    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.String()), sa.column("totp_secret", sa.Text()))
    for user_id, secret in connection.execute(sa.select(users.c.id, users.c.totp_secret)).all():
        if secret.startswith(PREFIX):
            connection.execute(users.update().where(users.c.id == user_id)
                               .values(totp_secret=unseal(secret, "users.totp_secret")))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("totp_secret", existing_type=sa.Text(), type_=sa.String(length=64),
                              existing_nullable=False)
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
    op.drop_table("web_sessions")
