"""Logged-in inbox sessions, kept on the server so that logging out really ends them.

A signed cookie alone stays valid until it expires: a copy taken from a shared computer or a proxy log
would still open the inbox after logout. The cookie carries a random id; this table says whether that
session is still on. It is in the database, not in process memory, so every gunicorn worker and every
instance behind the load balancer sees an ended session as ended.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.models.base import Base, uuid_pk


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = uuid_pk()
    #: SHA-256 of the id in the cookie: read access to the database yields no cookie that works.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(default=clock.now)
    ended_at: Mapped[datetime | None]
    #: Why it ended: logout, idle, password, totp, replaced (a new login in the same browser).
    end_reason: Mapped[str | None] = mapped_column(String(32))
