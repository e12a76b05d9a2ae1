"""Writing the audit trail (NEN 7513 minimum: event, time, patient, user, organisation, source, outcome).

Callers pass an :class:`Actor` describing who acts and from where; this module
never reads ``flask.request`` so the CLI and workers audit the same way.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.models import AuditAction, AuditEntry, AuditOutcome
from triage_service.security import audit_chain  # noqa: F401 - every entry written is chained


@dataclass(frozen=True)
class Actor:
    kind: str  # "client", "user", "cli", "anonymous"
    id: str | None
    organisation_id: str | None
    source_ip: str | None = None


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no account name in a bare container
        return None


#: Commands run on the server: the operating-system account is who acted (NEN 7513 wants a person).
CLI_ACTOR = Actor(kind="cli", id=_os_user(), organisation_id=None, source_ip="local")


def record(session: Session, actor: Actor, *, event: str, action: AuditAction,
           outcome: AuditOutcome = AuditOutcome.SUCCESS, resource_type: str | None = None,
           resource_id: str | None = None, patient_ref: str | None = None, detail: str | None = None,
           at: datetime | None = None) -> AuditEntry:
    entry = AuditEntry(
        occurred_at=at or clock.now(), event=event, action=action, outcome=outcome, actor_kind=actor.kind,
        actor_id=actor.id, organisation_id=actor.organisation_id, resource_type=resource_type,
        resource_id=resource_id, patient_ref=patient_ref, source_ip=actor.source_ip,
        detail=detail[:2000] if detail else None,
    )
    session.add(entry)
    return entry
