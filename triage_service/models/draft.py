"""A consult the practice is preparing in the GP portal, before anyone sends it.

A draft is what a POH or assistant may write and a GP then checks and sends (issue: the GP's own
screens). It is not a consult: nothing routes, no Task exists and no specialist sees it until the
GP sends it through the same intake as a GP system's POST. What the form holds (BSN, birth date,
the question) is personal data and is sealed in the column; the photos are encrypted Binaries of
the practice from the moment they are uploaded, so a retaken photo replaces a stored one and a
photo does not have to be chosen again when a field is corrected.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from triage_service.encryption.columns import EncryptedJSON
from triage_service.models.base import Base, uuid_pk


class DraftStatus(enum.StrEnum):
    #: Being written.
    OPEN = "open"
    #: Prepared by practice staff who may not send: waiting for a GP of the practice.
    READY = "ready"
    #: Sent: ``consult_id`` names the consult it became. Kept so the audit trail's reference resolves.
    SENT = "sent"


class ConsultDraft(Base):
    __tablename__ = "consult_drafts"

    id: Mapped[str] = uuid_pk()
    #: The practice: only its accounts see the draft.
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    status: Mapped[DraftStatus] = mapped_column(Enum(DraftStatus, native_enum=False, length=16))
    #: The form's fields as the practice entered them (see portal/consult_form.py).
    form: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("consult_drafts.form"))
    #: The uploaded files in the order shown: [{"attachment_id", "title", "content_type", "quality"}];
    #: no personal data (titles are the practice's labels such as "overzicht").
    files: Mapped[list[Any]]
    consult_id: Mapped[str | None] = mapped_column(ForeignKey("consults.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
