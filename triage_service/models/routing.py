"""Specialists' absences and the routing decision stored for every consult."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_service import clock
from triage_service.encryption.columns import EncryptedText
from triage_service.models.base import Base, uuid_pk
from triage_service.models.organisation import Practitioner


class Absence(Base):
    """A period in which a specialist gets no new consults (holiday, illness, congress)."""

    __tablename__ = "absences"
    __table_args__ = (Index("ix_absences_practitioner_period", "practitioner_id", "starts_at", "ends_at"),)

    id: Mapped[str] = uuid_pk()
    practitioner_id: Mapped[str] = mapped_column(ForeignKey("practitioners.id"))
    starts_at: Mapped[datetime]
    #: None: open-ended until someone ends it.
    ends_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    practitioner: Mapped[Practitioner] = relationship()


class RoutingDecision(Base):
    """Why a consult went where it went: profile, candidates considered, the choice and its reason.

    Shown to the specialist and kept for the audit trail; one row per assignment (a later
    escalation or forward adds a row, so the history stays complete).
    """

    __tablename__ = "routing_decisions"
    #: When each candidate was last assigned (routing/assignment.py), one index probe each (migration 0042).
    __table_args__ = (Index("ix_routing_decisions_owner_decided", "owner_agb", "decided_at"),)

    id: Mapped[str] = uuid_pk()
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id"), index=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"))
    profile_id: Mapped[str] = mapped_column(ForeignKey("patient_profiles.id"))
    #: "practitioner" or "organisation" (a group queue), identified by AGB.
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_agb: Mapped[str] = mapped_column(String(8))
    #: [{"agb", "name", "kind", "open", "available", "chosen"}] for every candidate considered.
    candidates: Mapped[list[Any]]
    #: Includes a forwarding specialist's own words: encrypted like other free text.
    reason: Mapped[str] = mapped_column(EncryptedText("routing_decisions.reason"))
    decided_at: Mapped[datetime] = mapped_column(default=clock.now)


class DeadlineEvent(Base):
    """What the answer-norm monitor did: a near-due flag, an escalation, or an overdue consult nobody else can take."""

    __tablename__ = "deadline_events"

    id: Mapped[str] = uuid_pk()
    task_id: Mapped[str] = mapped_column(ForeignKey("consult_tasks.id"), index=True)
    #: "near-due", "escalated" or "overdue-unassignable".
    kind: Mapped[str] = mapped_column(String(32))
    from_owner_agb: Mapped[str | None] = mapped_column(String(8))
    to_owner_agb: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=clock.now)


class ReferralFlag(Base):
    """A "likely referral" flag raised at intake, kept so reporting can measure how often flags were right."""

    __tablename__ = "referral_flags"

    id: Mapped[str] = uuid_pk()
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id"), index=True)
    #: "red-flag", "physical-examination" or "referral-profile".
    kind: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    #: Completed consults of the same specialism and ICPC code when flagged, and how many became referrals.
    similar_total: Mapped[int] = mapped_column(default=0)
    similar_converted: Mapped[int] = mapped_column(default=0)
    flagged_at: Mapped[datetime] = mapped_column(default=clock.now)
