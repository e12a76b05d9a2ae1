"""The agreed time per consult form (normtijd) of the agreement a consult was routed under.

The screens offer it as the default minutes to register and the statements set the registered minutes
beside it. It comes from the consult's own agreement version, so a later version with other figures does
not change what was agreed for consults already routed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from triage_service.models import Agreement, Consult


def norm_minutes_for(session: Session, consult: Consult) -> int | None:
    """The agreement's minutes for the consult's form, or None (no agreement yet, or no norm for the form)."""
    if consult.agreement_id is None:
        return None
    agreement = session.get(Agreement, consult.agreement_id)
    if agreement is None:
        return None
    minutes = (agreement.norm_minutes or {}).get(consult.consult_form)
    return int(minutes) if isinstance(minutes, int) else None
