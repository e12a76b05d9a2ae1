"""Web accounts for specialists and zorggroep staff (the inbox logs them in)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_service.models.base import Base, utcnow, uuid_pk


class UserRole(enum.StrEnum):
    SPECIALIST = "specialist"
    ZORGGROEP_STAFF = "zorggroep-staff"
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = uuid_pk()
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[UserRole] = mapped_column(Enum(UserRole, native_enum=False, length=32))
    #: argon2id hash; never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Base32 TOTP secret (second factor, NEN 7510).
    totp_secret: Mapped[str] = mapped_column(String(64))
    practitioner_id: Mapped[str | None] = mapped_column(ForeignKey("practitioners.id"))
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    language: Mapped[str] = mapped_column(String(5), default="nl")
    #: The last TOTP time step accepted: a code can be used once (RFC 6238 section 5.2).
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
