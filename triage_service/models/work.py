"""The specialist's own working aids: time registered per action, and personal text snippets.

Time is registered per action (ask, answer, forward, decline, appointment, referral triage) rather than once
with the advice: a consult that was asked about twice and then forwarded took the specialist time that the
subcontractor is paid for, and a single figure at the end hid it. ``Consult.time_spent_minutes`` stays the
running total, so the statements and declarations read one column.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.models.base import Base, uuid_pk


class TimeRegistration(Base):
    """One action of a specialist on a consult, with the minutes it took when they registered any.

    A row is written for every action, minutes or not: it is also how the inbox finds the consults a
    specialist forwarded away (no longer theirs, so not found through the Task's owner)."""

    __tablename__ = "time_registrations"
    __table_args__ = (Index("ix_time_registrations_practitioner", "practitioner_agb", "action", "registered_at"),)

    id: Mapped[str] = uuid_pk()
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id", ondelete="CASCADE"), index=True)
    #: ask, answer, accept-referral, return-referral, forward, decline, appointment.
    action: Mapped[str] = mapped_column(String(32))
    minutes: Mapped[int | None] = mapped_column(Integer)
    #: Who spent the time: the statements report minutes per specialist, whoever owns the consult now.
    practitioner_agb: Mapped[str | None] = mapped_column(String(8))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    registered_at: Mapped[datetime] = mapped_column(default=clock.now)


class TextSnippet(Base):
    """A specialist's recurring advice text ("Standaard advies eczeem"), inserted into the answer field.

    A snippet is the specialist's own wording and holds no patient data; it is never shared between users."""

    __tablename__ = "text_snippets"
    __table_args__ = (Index("ix_text_snippets_user", "user_id", "title"),)

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
