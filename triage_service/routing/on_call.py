"""Who is on call now: the shift of a specialist organisation's rota for a specialism that covers a moment.

The rota itself (import, editing, its rules) is agreements/rota.py; routing only reads it. Outside office
hours an urgent consult whose agreement sets a clock-time norm goes to the specialist on call, not to the
least-loaded one: the others are asleep, and the rota is how the department said so (issue 20).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from triage_service.models import OnCallShift, Organisation, Practitioner


@dataclass(frozen=True)
class OnCall:
    """The specialist on call and the named backup (achterwacht), by AGB and name."""

    agb: str
    name: str
    backup_agb: str
    backup_name: str
    shift_ends_at: datetime


def on_call_at(session: Session, organisation_agb: str, specialism: str, moment: datetime) -> OnCall | None:
    """The shift covering ``moment`` (starts_at <= moment < ends_at), or None when the rota has none."""
    duty, backup = aliased(Practitioner), aliased(Practitioner)
    row = session.execute(
        select(duty.agb, duty.name, backup.agb, backup.name, OnCallShift.ends_at)
        .join(Organisation, Organisation.id == OnCallShift.organisation_id)
        .join(duty, duty.id == OnCallShift.practitioner_id)
        .join(backup, backup.id == OnCallShift.backup_practitioner_id)
        .where(Organisation.agb == organisation_agb, OnCallShift.specialism == specialism,
               OnCallShift.starts_at <= moment, OnCallShift.ends_at > moment)
        .order_by(OnCallShift.starts_at.desc()).limit(1)).first()
    return OnCall(*row) if row is not None else None
