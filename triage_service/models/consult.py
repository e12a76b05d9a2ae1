"""The consult aggregate: the request (FHIR ServiceRequest) and its workflow (Task).

The ServiceRequest JSON is kept as received (with server id and meta), beside
the domain fields extracted at intake. Those fields are a snapshot at request
time (the patient's age then, the insurer then), which is what routing and the
S3 declaration must use.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, desc, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_service import clock
from triage_service.encryption.columns import EncryptedJSON, EncryptedText
from triage_service.models.base import Base, uuid_pk
from triage_service.models.message import ConsultMessage

if TYPE_CHECKING:
    from triage_service.models.routing import DeadlineEvent


def _enum(cls: type[enum.StrEnum]) -> Enum:
    # Stored as strings (not native enums): adding a status needs no ALTER TYPE.
    return Enum(cls, native_enum=False, length=40, values_callable=lambda e: [m.value for m in e])


#: Consult.category of a normal referral sent for the specialist's triage (ServiceRequest.category
#: ``referral``); every other request is a meekijkconsult.
REFERRAL_CATEGORY = "referral"


class RequestStatus(enum.StrEnum):
    """FHIR request-status values the service uses for a consult request."""

    ACTIVE = "active"
    COMPLETED = "completed"
    REVOKED = "revoked"


class TaskStatus(enum.StrEnum):
    """FHIR task-status (http://hl7.org/fhir/R4/valueset-task-status.html)."""

    DRAFT = "draft"
    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    READY = "ready"
    CANCELLED = "cancelled"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    FAILED = "failed"
    COMPLETED = "completed"
    ENTERED_IN_ERROR = "entered-in-error"


#: The open Task statuses as SQL, for the partial index of the inbox's queue. PostgreSQL uses a partial index
#: only when it can see that the query's condition implies the index's, which a bound parameter hides.
OPEN_PREDICATE = "status IN ('accepted', 'in-progress', 'on-hold')"


#: The only transitions FHIR.md allows. Terminal states have no way out.
TASK_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.REQUESTED: frozenset({TaskStatus.RECEIVED, TaskStatus.REJECTED, TaskStatus.CANCELLED}),
    TaskStatus.RECEIVED: frozenset(
        {TaskStatus.ACCEPTED, TaskStatus.REJECTED, TaskStatus.CANCELLED, TaskStatus.FAILED}
    ),
    TaskStatus.ACCEPTED: frozenset(
        {TaskStatus.IN_PROGRESS, TaskStatus.REJECTED, TaskStatus.CANCELLED, TaskStatus.FAILED}
    ),
    TaskStatus.IN_PROGRESS: frozenset(
        {TaskStatus.ON_HOLD, TaskStatus.COMPLETED, TaskStatus.REJECTED, TaskStatus.CANCELLED, TaskStatus.FAILED}
    ),
    TaskStatus.ON_HOLD: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.CANCELLED, TaskStatus.FAILED}),
}


class Consult(Base):
    __tablename__ = "consults"
    __table_args__ = (
        Index("ix_consults_org_status", "organisation_id", "status"),
        # Similar consults (referral flags' conversion figure): covering, so the count reads the index only.
        Index("ix_consults_similar", "specialism", "primary_icpc", "status", "category", "converted_to_referral"),
        # Declarations look for consults answered since the last closed month.
        Index("ix_consults_completed_at", "completed_at"),
        # Task search by requester (the GP's AGB).
        Index("ix_consults_requester", "requester_agb"),
    )

    #: Also the ServiceRequest's logical id.
    id: Mapped[str] = uuid_pk()
    #: The requesting practice: only its clients may see the consult.
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    #: The GP system that posted it; None when a GP sent it from the portal (the audit trail names the GP).
    client_pk: Mapped[str | None] = mapped_column(ForeignKey("api_clients.id"))
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus))
    category: Mapped[str] = mapped_column(String(40))
    consult_form: Mapped[str] = mapped_column(String(40))
    specialism: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16))
    authored_at: Mapped[datetime]
    #: triage-gp-intent code; None only for referral-category requests.
    gp_intent: Mapped[str | None] = mapped_column(String(32))
    conversion_authorised: Mapped[bool | None] = mapped_column(Boolean)
    icpc_codes: Mapped[list[Any]]
    #: The first ICPC code: what "similar consults" are compared on.
    primary_icpc: Mapped[str] = mapped_column(String(8))
    patient_resource_id: Mapped[str | None] = mapped_column(ForeignKey("stored_resources.id"), index=True)
    patient_birth_date: Mapped[date] = mapped_column(Date)
    patient_gender: Mapped[str] = mapped_column(String(16))
    patient_postcode: Mapped[str | None] = mapped_column(String(16))
    insurer_uzovi: Mapped[str] = mapped_column(String(4))
    requester_agb: Mapped[str] = mapped_column(String(8))
    #: For a consult from an out-of-hours post (HAP): the AGB of the patient's own practice, recorded when sent
    #: (Patient.generalPractitioner), so the advice can follow the patient there. None for a practice's own.
    patient_practice_agb: Mapped[str | None] = mapped_column(String(8))
    photo_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The agreement and patient profile the consult was routed under (the tariff comes from there).
    agreement_id: Mapped[str | None] = mapped_column(ForeignKey("agreements.id"), index=True)
    profile_id: Mapped[str | None] = mapped_column(ForeignKey("patient_profiles.id"))
    #: The specialist's structured outcome (triage-consult-outcome) once answered, and whether the
    #: consult became a referral; the conversion rates shown at intake are computed from these.
    outcome: Mapped[str | None] = mapped_column(String(40))
    converted_to_referral: Mapped[bool | None] = mapped_column(Boolean)
    completed_at: Mapped[datetime | None]
    #: When the specialist first offered an appointment (video consult, ECMS): for these forms the
    #: answer-time norm is met by the offer, not by the advice after the visit.
    appointment_offered_at: Mapped[datetime | None]
    #: For outcome "referral-indicated" (and "referral-accepted", where the specialism is the consult's own):
    #: to which specialism, and how urgently (a FHIR request priority).
    referral_specialism: Mapped[str | None] = mapped_column(String(64))
    referral_urgency: Mapped[str | None] = mapped_column(String(16))
    #: Time the specialist spent, as they registered it (the subcontractor statement reports it).
    time_spent_minutes: Mapped[int | None] = mapped_column(Integer)
    #: Who answered (a specialist's AGB): the monitoring credits them, whoever holds the Task later.
    answered_by_agb: Mapped[str | None] = mapped_column(String(8))
    #: What the answering specialist attested for the declaration, e.g. ["no-open-dbc"] (issue 22).
    attestations: Mapped[list[Any]] = mapped_column(default=list)
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    #: Encrypted at rest: the contained patient and the clinical question.
    resource: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("consults.resource"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    identifiers: Mapped[list[ConsultIdentifier]] = relationship(
        back_populates="consult", cascade="all, delete-orphan"
    )
    task: Mapped[ConsultTask] = relationship(back_populates="consult", uselist=False)
    messages: Mapped[list[ConsultMessage]] = relationship(order_by="ConsultMessage.sent_at", viewonly=True)

    __mapper_args__ = {"version_id_col": version_id, "version_id_generator": False}

    @property
    def is_referral_for_triage(self) -> bool:
        """A referral the specialist triages (accept, return with advice, redirect), not a meekijkconsult."""
        return self.category == REFERRAL_CATEGORY


class ConsultIdentifier(Base):
    """The HIS's business identifiers; unique per practice so retries are idempotent."""

    __tablename__ = "consult_identifiers"
    __table_args__ = (
        UniqueConstraint("organisation_id", "system", "value"),
        # The search by identifier without a system (ServiceRequest?identifier=HIS-1): the unique
        # constraint's index has the system in between.
        Index("ix_consult_identifiers_org_value", "organisation_id", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    system: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))

    consult: Mapped[Consult] = relationship(back_populates="identifiers")


class ConsultTask(Base):
    """The Task that tracks a consult; created by the server, one per consult."""

    __tablename__ = "consult_tasks"
    __table_args__ = (
        Index("ix_consult_tasks_org_status", "organisation_id", "status"),
        Index("ix_consult_tasks_org_updated", "organisation_id", "updated_at"),
        Index("ix_consult_tasks_status_due", "status", "due_at"),
        # A specialist's open (or answered) consults: the inbox, its counts (index-only, hence owner_kind),
        # and routing's load per candidate (index-only, hence urgent).
        Index("ix_consult_tasks_owner_status", "owner_agb", "status", "owner_kind", "urgent"),
        # Task search by business-status (FHIR.md).
        Index("ix_consult_tasks_org_business", "organisation_id", "business_status"),
        # A specialist's (or queue's) open consults in the inbox's order, flagged first, then by due time: the
        # first page is read in index order and stops after one page, however many consults are open. Partial
        # (open statuses only), so the query must name them as literals (web/inbox.py, OPEN_LITERAL).
        # Urgent consults come before everything else, flagged ones next (issue 20: a flagged routine consult
        # sorted above an urgent one).
        Index("ix_consult_tasks_open_queue", "owner_agb", "owner_kind", desc("urgent"), desc("likely_referral"),
              "due_at", "created_at", postgresql_where=text(OPEN_PREDICATE), sqlite_where=text(OPEN_PREDICATE)),
    )

    id: Mapped[str] = uuid_pk()
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id"), unique=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus))
    business_status: Mapped[str] = mapped_column(String(40))
    #: Why the Task was declined or cancelled, typed by a person: encrypted like other free text.
    status_reason: Mapped[str | None] = mapped_column(EncryptedText("consult_tasks.status_reason"))
    #: The routed specialist ("practitioner") or group queue ("organisation"), by AGB; None until routed.
    owner_kind: Mapped[str | None] = mapped_column(String(16))
    owner_agb: Mapped[str | None] = mapped_column(String(8))
    owner_name: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None]
    #: Since when the answer norm is paused: the Task is on-hold, waiting for the GP. On resuming, ``due_at``
    #: moves on by the pause, measured as the norm measures (working time or clock time).
    paused_at: Mapped[datetime | None]
    #: The consult's priority is urgent, asap or stat: a copy (priority never changes after intake), so
    #: routing counts a candidate's urgent open work without reading the consults (migration 0020).
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Flagged at intake as a likely referral: the inbox triages these first.
    likely_referral: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The flags in words, with the conversion figure as it was at intake (shown as Task.note).
    flag_note: Mapped[str | None] = mapped_column(Text)
    #: Set by the answer-norm monitor, so each consult is flagged and escalated at most once.
    near_due_flagged_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    #: When the consult overflowed to the agreement's backup organisation (routing/overflow.py; the Overflow row
    #: says to whom and why): at most once, and read by the FHIR Task's notes without a query for the others.
    overflowed_at: Mapped[datetime | None]
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    consult: Mapped[Consult] = relationship(back_populates="task")
    #: The steps of an urgent consult's call-out (started, escalated, taken; consults/callouts.py), which the
    #: GP's Task shows as notes. Read only when asked for (only urgent Tasks have any).
    callout_steps: Mapped[list[DeadlineEvent]] = relationship(
        primaryjoin="and_(ConsultTask.id == foreign(DeadlineEvent.task_id), DeadlineEvent.kind.like('callout-%'))",
        order_by="(DeadlineEvent.at, DeadlineEvent.id)", viewonly=True)

    # Optimistic locking: every UPDATE carries "WHERE version_id = <the version read>", so two
    # concurrent updates with the same If-Match cannot both win. We bump the version ourselves.
    __mapper_args__ = {"version_id_col": version_id, "version_id_generator": False}
