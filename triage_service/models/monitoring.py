"""The monitoring's fact table: one narrow row per consult with exactly what the monitoring counts.

Why a copy: the figures come from the consult, its Task and its agreement together, and on a
region's year (a million consults) joining three tables and parsing timestamps per row made
the monthly report twenty times slower than a plain count. The row is kept in step with the
consult and Task in the same transaction (reports/facts.py) and can be rebuilt at any time
from them (``triage-service rebuild-facts``), so it is never the source of truth.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_service.models.base import Base


class ConsultFact(Base):
    __tablename__ = "consult_facts"
    __table_args__ = (Index("ix_consult_facts_window", "zorggroep_id", "created_at"),)

    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id", ondelete="CASCADE"), primary_key=True)
    #: The zorggroep of the agreement the consult was routed under (reports are per zorggroep).
    zorggroep_id: Mapped[str | None] = mapped_column(String(36))
    agreement_id: Mapped[str | None] = mapped_column(String(36))
    practice_id: Mapped[str] = mapped_column(String(36))
    specialism: Mapped[str] = mapped_column(String(64))
    #: Submission time, and its ISO week in Dutch time as a number of weeks since Monday 1 January 2001.
    created_at: Mapped[datetime]
    week: Mapped[int] = mapped_column(Integer)
    consult_form: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(16))
    gp_intent: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(40))
    #: Flagged at intake as a likely referral.
    flagged: Mapped[bool] = mapped_column(Boolean)
    #: open, completed, rejected or cancelled (from the Task's status).
    state: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(40))
    converted: Mapped[bool] = mapped_column(Boolean)
    #: Whole minutes from submission to advice, and whether that was within the agreed norm.
    answer_minutes: Mapped[int | None] = mapped_column(Integer)
    within_norm: Mapped[bool | None] = mapped_column(Boolean)
    #: Whole minutes from submission to "Ik pak hem op" (urgent consults that were called out).
    taken_minutes: Mapped[int | None] = mapped_column(Integer)
    #: The Task's owner (who answered, once completed): a specialist's or group queue's AGB.
    owner_agb: Mapped[str | None] = mapped_column(String(8))
    #: The Task's due time (moved on by pauses) and since when it is paused: an open consult past its due time
    #: counts as late in "within norm" (issue 22).
    due_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    #: The specialist who answered: figures by specialist credit them, not whoever holds the Task now.
    answered_by_agb: Mapped[str | None] = mapped_column(String(8))
    #: How often the consult was forwarded, and whether the answer-norm monitor escalated it.
    forwarded: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The GP's verdict after reading the advice (models/verdict.py), None until given.
    verdict_useful: Mapped[bool | None] = mapped_column(Boolean)
    verdict_without: Mapped[str | None] = mapped_column(String(16))
    verdict_referral_needed: Mapped[bool | None] = mapped_column(Boolean)
