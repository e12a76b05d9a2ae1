"""Registered GP systems (SMART Backend Services clients) and their tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_service import clock
from triage_service.models.base import Base, uuid_pk
from triage_service.models.organisation import Organisation


class ApiClient(Base):
    """A HIS installation, bound to exactly one organisation (FHIR.md, Authentication)."""

    __tablename__ = "api_clients"

    id: Mapped[str] = uuid_pk()
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    #: The client's public keys (a JWKS document); private keys never reach us.
    jwks: Mapped[dict[str, Any]]
    #: Space-separated SMART scopes this client may be granted.
    scopes: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    organisation: Mapped[Organisation] = relationship()


class UsedAssertion(Base):
    """Client assertion ids already seen, kept until they expire (replay protection)."""

    __tablename__ = "used_assertions"
    __table_args__ = (UniqueConstraint("client_pk", "jti"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    client_pk: Mapped[str] = mapped_column(ForeignKey("api_clients.id"))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AccessToken(Base):
    """Opaque bearer tokens, stored only as a SHA-256 hash.

    Opaque tokens in the database (not self-contained JWTs) can be revoked and
    are checked identically by every gunicorn worker and instance.
    """

    __tablename__ = "access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_pk: Mapped[str] = mapped_column(ForeignKey("api_clients.id"), index=True)
    scopes: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    client: Mapped[ApiClient] = relationship()
