"""A consult that overflowed to its agreement's backup organisation (issue 23, point 4: the second opinion pool).

One row per consult at most: who it went to, why, and the backup's fee as it was at that moment, so the
subcontractor statements and the declaration's payee follow the organisation that did the work even after the
agreement file's backup terms change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.models.base import Base, uuid_pk

#: Why a consult overflowed: none of the agreement's own specialists was available, or the agreed share of
#: the answer norm passed without anyone taking it.
OVERFLOW_REASONS = ("nobody-available", "norm-share-passed")


class Overflow(Base):
    __tablename__ = "overflows"

    id: Mapped[str] = uuid_pk()
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id", ondelete="CASCADE"), unique=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), index=True)
    #: The backup organisation that answers (and is paid) instead of the agreement's subcontractor.
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    #: The backup's fee per answered consult when the consult overflowed, in cents.
    fee_cents: Mapped[int] = mapped_column(Integer)
    #: One of OVERFLOW_REASONS.
    reason: Mapped[str] = mapped_column(String(32))
    #: The share of the norm agreed as the moment to overflow (for "norm-share-passed"), in percent.
    share_percent: Mapped[int | None] = mapped_column(Integer)
    from_owner_agb: Mapped[str | None] = mapped_column(String(8))
    #: "practitioner" (a backup specialist) or "organisation" (the backup's queue, when none of them is in).
    to_owner_kind: Mapped[str] = mapped_column(String(16))
    to_owner_agb: Mapped[str] = mapped_column(String(8))
    to_owner_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=clock.now)
