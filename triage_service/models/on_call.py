"""The on-call rota (dienstrooster) and the call-out of an urgent consult until someone takes it.

A rota is kept per specialist organisation and specialism: shifts that follow each other without gap or
overlap, each with the specialist on call (dienst) and a named backup (achterwacht). Outside office hours an
urgent consult goes to whoever is on call at that moment (routing/on_call.py); its call-out then alerts them
again and again until someone says "Ik pak hem op", and moves on to the backup and then the group when nobody
does (consults/callouts.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_service import clock
from triage_service.models.base import Base, uuid_pk
from triage_service.models.organisation import Practitioner


class OnCallShift(Base):
    """One shift of a rota: from ``starts_at`` up to (not including) ``ends_at``."""

    __tablename__ = "on_call_shifts"
    __table_args__ = (Index("ix_on_call_shifts_rota", "organisation_id", "specialism", "starts_at"),)

    id: Mapped[str] = uuid_pk()
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    #: Vektis COD016 code (or a first-line specialism code), as in the agreements' profiles.
    specialism: Mapped[str] = mapped_column(String(64))
    practitioner_id: Mapped[str] = mapped_column(ForeignKey("practitioners.id"))
    backup_practitioner_id: Mapped[str] = mapped_column(ForeignKey("practitioners.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    #: "csv", "ical" (imported) or "inbox" (entered by a rota maker).
    source: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    practitioner: Mapped[Practitioner] = relationship(foreign_keys=[practitioner_id])
    backup: Mapped[Practitioner] = relationship(foreign_keys=[backup_practitioner_id])


class CalloutStage:
    """Who is being alerted: the specialist on call, then the backup, then everyone of the group."""

    ON_CALL = "on-call"
    BACKUP = "backup"
    GROUP = "group"


class UrgentCallout(Base):
    """The alerts for one urgent consult with a clock-time norm, until someone takes it (one per Task)."""

    __tablename__ = "urgent_callouts"
    __table_args__ = (Index("ix_urgent_callouts_next_alert", "next_alert_at"),)

    id: Mapped[str] = uuid_pk()
    task_id: Mapped[str] = mapped_column(ForeignKey("consult_tasks.id", ondelete="CASCADE"), unique=True)
    #: CalloutStage value.
    stage: Mapped[str] = mapped_column(String(16))
    stage_since: Mapped[datetime]
    #: The specialists alerted in the first two stages (AGB), and the group queue of the third.
    on_call_agb: Mapped[str] = mapped_column(String(8))
    backup_agb: Mapped[str | None] = mapped_column(String(8))
    group_agb: Mapped[str] = mapped_column(String(8))
    #: From the agreement: alert again every ``repeat_minutes``; move to the next stage after
    #: ``escalate_after_minutes`` in a stage without a take.
    repeat_minutes: Mapped[int] = mapped_column(Integer)
    escalate_after_minutes: Mapped[int] = mapped_column(Integer)
    #: When the worker alerts next; None once taken, answered or withdrawn.
    next_alert_at: Mapped[datetime | None]
    alerts_sent: Mapped[int] = mapped_column(Integer, default=0)
    taken_at: Mapped[datetime | None]
    taken_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    taken_by_agb: Mapped[str | None] = mapped_column(String(8))
    taken_by_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
