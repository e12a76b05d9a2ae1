"""Photos and documents (FHIR Binary), stored encrypted, owned by the practice that sent them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_service import clock
from triage_service.models.base import Base, uuid_pk
from triage_service.models.blob import EncryptedBlob


class Attachment(Base):
    __tablename__ = "attachments"

    #: Also the Binary's logical id.
    id: Mapped[str] = uuid_pk()
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    #: Size and SHA-1 of the bytes as the GP system sent them (what Attachment.size/hash describe).
    original_size: Mapped[int] = mapped_column(BigInteger)
    original_sha1: Mapped[bytes] = mapped_column(LargeBinary(20))
    #: SHA-1 of the bytes as served (cleaned of metadata, turned upright), what a DocumentReference's
    #: attachment.hash must describe so a GP system checking integrity accepts what it downloads; the
    #: served size is the blob's. None for files stored before it was kept (release 0038).
    served_sha1: Mapped[bytes | None] = mapped_column(LargeBinary(20))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    blob_id: Mapped[str] = mapped_column(ForeignKey("encrypted_blobs.id"))
    thumbnail_blob_id: Mapped[str | None] = mapped_column(ForeignKey("encrypted_blobs.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    #: The Patient (stored resource id) the file is about, once a DocumentReference or consult ties it to one:
    #: every later read of the file is audited under that patient (NEN 7513).
    patient_ref: Mapped[str | None] = mapped_column(String(36), index=True)

    blob: Mapped[EncryptedBlob] = relationship(foreign_keys=[blob_id])
