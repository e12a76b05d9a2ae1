"""Writing the audit trail (NEN 7513: event, time, patient, user, organisation, on whose behalf, source, outcome).

Callers pass an :class:`Actor` describing who acts and from where; this module
never reads ``flask.request`` so the CLI and workers audit the same way. What a
caller may not know is completed here, in one place, so no entry lacks it:

- an inbox user's organisation is that of the specialist the account belongs to
  (or the zorggroep a staff account belongs to);
- on whose behalf (NEN 7513 "namens"): a GP system acts for its practice
  (``Organization/{id}``: a SMART backend token names no person), a specialist
  for themself as care provider (``Practitioner/{id}``), zorggroep staff for the
  zorggroep, the worker and console commands for the service itself
  (``Device/triage-service``; the command's operating-system account is the user).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.audit import chain
from triage_service.models import AuditAction, AuditOutcome, Practitioner, User


@dataclass(frozen=True)
class Actor:
    kind: str  # "client", "user", "cli", "worker", "anonymous"
    id: str | None
    organisation_id: str | None
    source_ip: str | None = None
    #: None: completed by ``record`` from the kind (see the module's docstring).
    on_behalf_of: str | None = None


#: The service acting on its own (worker jobs) or for its operator (console commands).
SERVICE = "Device/triage-service"
_USERS = "triage.audit_users"


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
           at: datetime | None = None) -> None:
    """Record an event; it is written, with its place in the chain, when the transaction commits (audit/chain.py)."""
    actor = _completed(session, actor)
    chain.append(session, chain.NewEntry(
        occurred_at=at or clock.now(), event=event, action=action, outcome=outcome, actor_kind=actor.kind,
        actor_id=actor.id, organisation_id=actor.organisation_id, on_behalf_of=actor.on_behalf_of,
        resource_type=resource_type,
        resource_id=resource_id, patient_ref=patient_ref, source_ip=actor.source_ip,
        detail=detail[:2000] if detail else None,
    ))


def _completed(session: Session, actor: Actor) -> Actor:
    if actor.on_behalf_of is not None:
        return actor
    if actor.kind == "client" and actor.organisation_id:
        return replace(actor, on_behalf_of=f"Organization/{actor.organisation_id}")
    if actor.kind in ("cli", "worker"):
        return replace(actor, on_behalf_of=SERVICE)
    if actor.kind == "user" and actor.id:
        organisation_id, on_behalf_of = _account(session, actor.id)
        return replace(actor, organisation_id=actor.organisation_id or organisation_id, on_behalf_of=on_behalf_of)
    return actor  # anonymous: nobody identified, nobody to act for


def _account(session: Session, username: str) -> tuple[str | None, str | None]:
    """The organisation an inbox account acts for and on whose behalf, once per unit of work."""
    known: dict[str, tuple[str | None, str | None]] = session.info.setdefault(_USERS, {})
    if username not in known:
        user = session.scalar(select(User).where(User.username == username))
        practitioner = session.get(Practitioner, user.practitioner_id) if user and user.practitioner_id else None
        organisation_id = user.organisation_id if user else None
        if practitioner is not None:
            known[username] = (organisation_id or practitioner.organisation_id, f"Practitioner/{practitioner.id}")
        else:
            known[username] = (organisation_id, f"Organization/{organisation_id}" if organisation_id else None)
    return known[username]
