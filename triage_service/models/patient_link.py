"""A one-time link the GP gives a patient to upload their own photos for a consult the practice prepares.

For a skin question the best photos are often the patient's own. The service makes the link and shows it
to the GP (and as a QR code); it sends nothing to the patient itself. Only a hash of the link's secret is
stored, so a copy of the database opens no link. The patient proves who they are with their birth date
before anything is accepted; five wrong tries close the link.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_service.models.base import Base, uuid_pk


class PatientUploadLink(Base):
    __tablename__ = "patient_upload_links"

    id: Mapped[str] = uuid_pk()
    #: SHA-256 of the secret in the link (the link itself is shown once, to the GP).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    #: The draft the photos go into (the GP sends the consult with them), or
    draft_id: Mapped[str | None] = mapped_column(ForeignKey("consult_drafts.id", ondelete="CASCADE"), index=True)
    #: the open consult they join (as a message of the thread, from the patient).
    consult_id: Mapped[str | None] = mapped_column(ForeignKey("consults.id"), index=True)
    #: The portal account that made it; None when a GP system asked for it over FHIR (the audit names the client).
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When the birth date was given right (the upload may follow).
    verified_at: Mapped[datetime | None]
    #: When the patient finished uploading: a link is used once.
    used_at: Mapped[datetime | None]
    #: When it was closed before use: too many wrong birth dates, or the GP withdrew it.
    closed_at: Mapped[datetime | None]
    photo_count: Mapped[int] = mapped_column(Integer, default=0)
