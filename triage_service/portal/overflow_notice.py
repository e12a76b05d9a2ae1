"""What the GP reads on the consult page when the consult overflowed to the agreement's backup organisation
(issue 23, point 4): who has it or answered it, of which organisation, and why the own specialists did not.

The GP chose a collaboration with one hospital; when another hospital's specialist answers, the GP must see it
(the advice is theirs, and the letter and the declarations name them), not find out from the letter.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.fhir.overflow_note import overflow_reason
from triage_service.models import Consult, Organisation, Overflow, Practitioner


@dataclass(frozen=True)
class OverflowNotice:
    #: The sentence: "Answered by dr. X of Hospital Y (backup: ...)" or "With dr. X of Hospital Y (backup: ...)".
    text: str
    #: Why, in the reader's language.
    reason: str


def overflow_notice(session: Session, consult: Consult) -> OverflowNotice | None:
    """The notice for an overflowed consult, or None (one small query, only for a consult whose Task overflowed)."""
    if consult.task is None or consult.task.overflowed_at is None:
        return None
    row = session.execute(select(Overflow, Organisation.name).join(Organisation, Organisation.id ==
                                                                   Overflow.organisation_id)
                          .where(Overflow.consult_id == consult.id)).first()
    if row is None:
        return None
    overflow, organisation = row
    answered_by = session.scalar(select(Practitioner.name).where(Practitioner.agb == consult.answered_by_agb)) \
        if consult.answered_by_agb else None
    text = _("Answered by %(owner)s of %(organisation)s (backup: the own specialists could not meet the norm)",
             owner=answered_by, organisation=organisation) if answered_by else \
        _("With %(owner)s of %(organisation)s (backup: the own specialists could not meet the norm)",
          owner=consult.task.owner_name or overflow.to_owner_name, organisation=organisation)
    return OverflowNotice(str(text), overflow_reason(overflow.reason, overflow.share_percent).render())
