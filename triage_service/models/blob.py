"""Encrypted blobs: where the ciphertext is, and its data key wrapped by a named key-encryption key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.models.base import Base, uuid_pk


class EncryptedBlob(Base):
    __tablename__ = "encrypted_blobs"

    id: Mapped[str] = uuid_pk()
    #: The storage backend's generated name (never a user-supplied file name).
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    #: Re-wrapped by `triage-service rotate-keys`; the blob itself is never rewritten for rotation.
    kek_id: Mapped[str] = mapped_column(String(64), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
