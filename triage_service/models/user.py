"""Web accounts: specialists and zorggroep staff (the inbox), GPs and practice staff (the portal)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.encryption.columns import EncryptedText
from triage_service.models.base import Base, uuid_pk


class UserRole(enum.StrEnum):
    SPECIALIST = "specialist"
    ZORGGROEP_STAFF = "zorggroep-staff"
    ADMIN = "admin"
    #: A GP of a practice (the portal): sends consults and answers the specialist's questions.
    GP = "gp"
    #: A POH or assistant of a practice: prepares consults and reads the practice's, but does not send.
    PRACTICE_STAFF = "practice-staff"
    #: Keeps the on-call rota of a specialist organisation (roostermaker); sees no consults.
    ROTA_MAKER = "rota-maker"


#: The accounts of a GP practice, who use the portal (``/huisarts``) and not the specialist inbox.
PRACTICE_ROLES = frozenset({UserRole.GP, UserRole.PRACTICE_STAFF})


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = uuid_pk()
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[UserRole] = mapped_column(Enum(UserRole, native_enum=False, length=32))
    #: argon2id hash; never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Base32 TOTP secret (second factor, NEN 7510), sealed like the other secrets: whoever reads the
    #: database must not be able to make anyone's codes. Rows of older releases are plain until
    #: ``triage-service encrypt-existing``; both read.
    totp_secret: Mapped[str] = mapped_column(EncryptedText("users.totp_secret"))
    practitioner_id: Mapped[str | None] = mapped_column(ForeignKey("practitioners.id"))
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    language: Mapped[str] = mapped_column(String(5), default="nl")
    #: Where to send a notice of a new assignment, if the specialist wants one (never with patient data).
    email: Mapped[str | None] = mapped_column(String(254))
    email_on_assignment: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The last TOTP time step accepted: a code can be used once (RFC 6238 section 5.2).
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class EmailNotice(Base):
    """An e-mail owed to an inbox user (the outbox the worker sends from).

    The text is rendered when the notice is queued and holds no patient data by
    construction: specialism, consult form, urgency, due time and a link to the inbox.
    """

    __tablename__ = "email_outbox"

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    #: The worker sending it (its random token) holds it until then, so two workers never send the same
    #: notice; only that worker clears the claim (notifications/claims.py).
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    #: Set when the notice is given up on (it is a convenience, not the record: the inbox is).
    abandoned_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
