"""Registering when a specialist is away, so routing passes them by."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.errors import InvalidInput, NotFound
from triage_service.models import Absence, AuditAction, Practitioner, PractitionerRoleKind


def add_absence(session: Session, actor: Actor, *, agb: str, starts_at: datetime, ends_at: datetime | None,
                reason: str | None = None) -> Absence:
    practitioner = session.scalar(select(Practitioner).where(Practitioner.agb == agb))
    if practitioner is None or practitioner.role is not PractitionerRoleKind.SPECIALIST:
        raise NotFound(f"No specialist with AGB {agb}")
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("An absence must end after it starts")
    absence = Absence(practitioner_id=practitioner.id, starts_at=starts_at, ends_at=ends_at, reason=reason)
    session.add(absence)
    session.flush()
    record(session, actor, event="absence.add", action=AuditAction.CREATE, resource_type="Absence",
           resource_id=absence.id, detail=f"agb={agb}")
    return absence


def end_absence(session: Session, actor: Actor, absence_id: str, at: datetime) -> Absence:
    absence = session.get(Absence, absence_id)
    if absence is None:
        raise NotFound(f"No absence with id {absence_id}")
    if absence.ends_at is not None and absence.ends_at <= at:
        raise InvalidInput("This absence has already ended")
    absence.ends_at = max(at, absence.starts_at)
    record(session, actor, event="absence.end", action=AuditAction.UPDATE, resource_type="Absence",
           resource_id=absence.id)
    return absence
