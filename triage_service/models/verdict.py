"""The GP's verdict on an advice (issue 22), the close-out survey Ontario's eConsult asks after every answer.

Three questions, answered once per consult by the requesting practice (in the portal, or from the GP system as
a FHIR QuestionnaireResponse to the published Questionnaire): was the advice useful, what would the GP have
done without it, is a referral still needed. The monitoring reads them through the fact table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.models.base import Base, uuid_pk

#: What the GP would have done without the advice.
WITHOUT_ADVICE = ("refer", "not-refer", "other")


class GpVerdict(Base):
    __tablename__ = "gp_verdicts"

    id: Mapped[str] = uuid_pk()
    #: One verdict per consult: a second answer is refused, not merged.
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id", ondelete="CASCADE"), unique=True)
    useful: Mapped[bool] = mapped_column(Boolean)
    #: refer, not-refer or other (WITHOUT_ADVICE).
    without_advice: Mapped[str] = mapped_column(String(16))
    referral_still_needed: Mapped[bool] = mapped_column(Boolean)
    #: "portal" or "fhir".
    source: Mapped[str] = mapped_column(String(16))
    #: The portal user or the API client that answered (an id, never a name).
    answered_by: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[datetime] = mapped_column(default=clock.now)
