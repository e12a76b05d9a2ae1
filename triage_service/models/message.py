"""The consult's thread (FHIR Communication): questions, the GP's answers, and the advice."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.encryption.columns import EncryptedText
from triage_service.models.base import Base, uuid_pk


class MessageCategory(enum.StrEnum):
    """triage-message-category (fhir_profiles)."""

    REQUEST_FOR_INFORMATION = "request-for-information"
    INFORMATION_PROVIDED = "information-provided"
    ADVICE = "advice"
    GENERAL = "general"


class ConsultMessage(Base):
    __tablename__ = "consult_messages"
    # Communication search by sent (FHIR.md). Not by category: four values, never selective.
    __table_args__ = (Index("ix_consult_messages_sent_at", "sent_at"),)

    #: Also the Communication's logical id.
    id: Mapped[str] = uuid_pk()
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id"), index=True)
    category: Mapped[MessageCategory] = mapped_column(
        Enum(MessageCategory, native_enum=False, length=40, values_callable=lambda e: [m.value for m in e]))
    #: "specialist" or "gp", identified by AGB, with the name as shown then.
    sender_role: Mapped[str] = mapped_column(String(16))
    sender_agb: Mapped[str | None] = mapped_column(String(8))
    sender_name: Mapped[str] = mapped_column(String(200))
    #: Free text about a patient: encrypted at rest.
    text: Mapped[str] = mapped_column(EncryptedText("consult_messages.text"))
    # Indexed for the same reason as every referencing column: deleting a message checks who answers it.
    in_response_to_id: Mapped[str | None] = mapped_column(ForeignKey("consult_messages.id"), index=True)
    #: Extra photos or documents the GP sent with an answer: ids of the practice's DocumentReferences.
    document_ids: Mapped[list[Any]] = mapped_column(default=list)
    sent_at: Mapped[datetime] = mapped_column(default=clock.now)
