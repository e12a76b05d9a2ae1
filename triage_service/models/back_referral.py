"""Back-referrals (terugverwijzing, issue 23): a specialist hands a patient back to the GP practice.

One row is both FHIR resources: the ServiceRequest from the specialist to the practice (its logical id is ``id``)
and the Task the practice owns (logical id ``task_id``). The practice takes the care over (Task completed,
business status "overgenomen") or first asks a question (Task on-hold until the specialist answers).

Identifying fields and clinical free text are encrypted at rest, as in the consult; the ICPC code, the
specialism, the statuses and the dates stay plain because the monitoring counts by them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_service import clock
from triage_service.encryption.columns import EncryptedText
from triage_service.models.base import Base, new_id, uuid_pk
from triage_service.models.organisation import Organisation, Practitioner


class BackReferralStatus(enum.StrEnum):
    """Where the hand-over stands; the Task status follows from it (consults/back_referrals.py)."""

    #: Sent, the practice has not answered yet (Task requested).
    PENDING = "pending"
    #: The practice asked a question; waiting for the specialist (Task on-hold).
    QUESTIONED = "questioned"
    #: The specialist answered; the practice may now take the care over (Task requested again).
    ANSWERED = "answered"
    #: The practice took the care over (Task completed, business status "overgenomen").
    ACCEPTED = "accepted"


class BackReferral(Base):
    __tablename__ = "back_referrals"
    __table_args__ = (Index("ix_back_referrals_practice_status", "practice_id", "status"),)

    #: Also the ServiceRequest's logical id.
    id: Mapped[str] = uuid_pk()
    #: The Task's logical id (the practice's work item).
    task_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    #: The consult the patient is handed back from (ServiceRequest.basedOn), if there was one.
    consult_id: Mapped[str | None] = mapped_column(ForeignKey("consults.id"), index=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    specialist_id: Mapped[str] = mapped_column(ForeignKey("practitioners.id"), index=True)
    #: The specialist's specialism when sent (the monitoring counts per specialism).
    specialism: Mapped[str] = mapped_column(String(64))
    status: Mapped[BackReferralStatus] = mapped_column(
        Enum(BackReferralStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    patient_bsn: Mapped[str] = mapped_column(EncryptedText("back_referrals.patient_bsn"))
    patient_name: Mapped[str] = mapped_column(EncryptedText("back_referrals.patient_name"))
    #: The BSN as a blind index (encryption/fields.blind_index under the BSN system, as a Patient's
    #: ``identifier_token``): how the NEN 7513 look-up by BSN (audit/queries.py) finds this back-referral.
    patient_token: Mapped[str] = mapped_column(String(300), index=True)
    patient_birth_date: Mapped[date] = mapped_column(Date)
    #: ICPC-1-NL code of the diagnosis, and the specialist's text for it.
    diagnosis_icpc: Mapped[str] = mapped_column(String(8))
    diagnosis_text: Mapped[str] = mapped_column(EncryptedText("back_referrals.diagnosis_text"))
    #: What the GP does from now (e.g. a CVRM plan), and optionally the named care programme it falls in.
    gp_plan: Mapped[str] = mapped_column(EncryptedText("back_referrals.gp_plan"))
    care_programme: Mapped[str | None] = mapped_column(String(32))
    #: When to refer again.
    rereferral_criteria: Mapped[str] = mapped_column(EncryptedText("back_referrals.rereferral_criteria"))
    #: What the specialist stays available for (e.g. a meekijkconsult when in doubt) and until when.
    available_for: Mapped[str | None] = mapped_column(EncryptedText("back_referrals.available_for"))
    available_until: Mapped[date | None] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(default=clock.now)
    accepted_at: Mapped[datetime | None]
    accepted_by_name: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    version_id: Mapped[int] = mapped_column(Integer, default=1)

    practice: Mapped[Organisation] = relationship()
    specialist: Mapped[Practitioner] = relationship()
    messages: Mapped[list[BackReferralMessage]] = relationship(
        order_by="BackReferralMessage.sent_at", cascade="all, delete-orphan")

    @property
    def patient_ref(self) -> str:
        """The audit trail's patient reference (an id of 36 characters, as the consults' Patient ids are): the
        back-referral itself, whose contained Patient is this patient. The BSN never goes into the trail; the
        look-up by BSN (audit/queries.patient_refs) finds this id through ``patient_token``."""
        return self.id


class BackReferralMessage(Base):
    """The practice's question and the specialist's answer (FHIR Communication, partOf the Task)."""

    __tablename__ = "back_referral_messages"

    #: Also the Communication's logical id.
    id: Mapped[str] = uuid_pk()
    back_referral_id: Mapped[str] = mapped_column(ForeignKey("back_referrals.id", ondelete="CASCADE"), index=True)
    #: "gp" (a question) or "specialist" (the answer).
    sender_role: Mapped[str] = mapped_column(String(16))
    sender_name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(EncryptedText("back_referral_messages.text"))
    sent_at: Mapped[datetime] = mapped_column(default=clock.now)
