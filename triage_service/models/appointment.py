"""Appointments inside a consult (FHIR Appointment): the video consult and the one-off physical consult (ECMS).

These two consult forms are not answered in a thread alone: the specialist proposes times (or, where the
agreement says so, books one), the GP system books one of them for the patient, and afterwards the
specialist marks the appointment fulfilled or no-show before giving advice. One row is one proposed
time; a reschedule cancels the booked row and proposes new ones (``replaces_id`` keeps the chain), so the
GP system's view of every row stays a plain FHIR status history.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_service import clock
from triage_service.encryption.columns import EncryptedText
from triage_service.models.base import Base, uuid_pk
from triage_service.models.consult import Consult

#: The consult forms whose answer starts with an appointment.
APPOINTMENT_FORMS = frozenset({"video-consult", "ecms"})


class AppointmentStatus(enum.StrEnum):
    """The FHIR appointmentstatus values this service uses (http://hl7.org/fhir/R4/valueset-appointmentstatus.html)."""

    PROPOSED = "proposed"
    BOOKED = "booked"
    CANCELLED = "cancelled"
    FULFILLED = "fulfilled"
    NOSHOW = "noshow"


#: Statuses that still hold a time in the specialist's agenda.
OPEN_APPOINTMENT = (AppointmentStatus.PROPOSED, AppointmentStatus.BOOKED)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        # Overlap checks look at one specialist's open appointments around a time.
        Index("ix_appointments_practitioner_start", "practitioner_agb", "start"),
        # The GP system's search: its organisation's appointments by last change.
        Index("ix_appointments_org_updated", "organisation_id", "updated_at"),
        Index("ix_appointments_org_status", "organisation_id", "status"),
        # The GP system's search by date (Appointment?date=ge...).
        Index("ix_appointments_org_start", "organisation_id", "start"),
    )

    #: Also the FHIR Appointment's logical id.
    id: Mapped[str] = uuid_pk()
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id"), index=True)
    #: The GP practice of the consult: only its GP systems see the appointment.
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    practitioner_agb: Mapped[str] = mapped_column(String(8))
    practitioner_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[AppointmentStatus] = mapped_column(
        Enum(AppointmentStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    start: Mapped[datetime]
    end: Mapped[datetime]
    #: A video consult (with ``meeting_url``) rather than a visit in person.
    video: Mapped[bool] = mapped_column(Boolean)
    #: The link from the specialist's own video tool (the service hosts no video); may carry a room secret.
    meeting_url: Mapped[str | None] = mapped_column(EncryptedText("appointments.meeting_url"))
    #: Where to come, or other instructions for the patient (typed by the specialist: encrypted like free text).
    instructions: Mapped[str | None] = mapped_column(EncryptedText("appointments.instructions"))
    #: The GP joins the video consult (a participant of the Appointment).
    gp_joins: Mapped[bool] = mapped_column(Boolean, default=False)
    #: "gp" or "specialist" once booked; who cancelled ("gp", "specialist", or "service" for slots
    #: withdrawn because another was booked) and why.
    booked_by: Mapped[str | None] = mapped_column(String(16))
    cancelled_by: Mapped[str | None] = mapped_column(String(16))
    cancellation_reason: Mapped[str | None] = mapped_column(EncryptedText("appointments.cancellation_reason"))
    #: The booked appointment this one was proposed to replace (a reschedule).
    replaces_id: Mapped[str | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    consult: Mapped[Consult] = relationship()

    # Optimistic locking as for the Task: a GP's booking and a specialist's withdrawal of the same
    # slot cannot both win.
    __mapper_args__ = {"version_id_col": version_id, "version_id_generator": False}
