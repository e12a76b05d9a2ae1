"""The second opinion pool (issue 23, point 4): a routine consult the agreement's own specialists cannot answer
within the norm overflows to the agreement's backup organisation (achtervang).

Part of the answer-norm monitor (routing/deadlines.py runs :func:`run_overflow` in each pass, before escalating),
so the same worker, claim and clock decide it. A routine consult still waiting to be taken (status
``accepted``: nobody has opened it to work on) overflows once, when the agreement's backup says so:

- ``nobody-available``: none of the agreement's own specialists is available now (each has an absence running):
  the consult would otherwise wait in the subcontractor's queue for someone to come back;
- ``norm-share-passed``: the agreed share of the answer norm has passed. The share is measured as the norm
  measures (working time for a norm in working days or hours, clock time otherwise), and from the due time as
  it stands, so a pause while waiting on the GP does not count.

It goes to the backup's least-loaded available specialist (ties to the AGB, so the choice is deterministic), or
to the backup organisation's queue when none of them is in. Urgent consults never overflow: they are called out
along the rota (consults/callouts.py). A consult escalated past its due time later stays with the backup (see
:func:`backup_colleague`): sending it back to the specialists who could not make the norm helps nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.models import (
    Absence,
    Agreement,
    AuditAction,
    Consult,
    ConsultTask,
    DeadlineEvent,
    Organisation,
    Overflow,
    Practitioner,
    RoutingDecision,
    TaskStatus,
)
from triage_service.routing.working_time import norm_time_between

#: The deadline monitor's actor (routing/deadlines.py names the same).
OVERFLOW_ACTOR = Actor(kind="worker", id="deadline-monitor", organisation_id=None, source_ip="local")
BATCH = 100
NOBODY_AVAILABLE, NORM_SHARE_PASSED = "nobody-available", "norm-share-passed"
#: Why, in the words of the routing decision and the monitor's event; the inbox says them again in the user's
#: language (web/routing_text.py recognises both).
_REASONS = {NOBODY_AVAILABLE: "none of the agreement's own specialists is available.",
            NORM_SHARE_PASSED: "%(share)s%% of the answer norm passed and nobody took the consult from %(owner)s."}


@dataclass(frozen=True)
class BackupOwner:
    kind: str  # "practitioner" or "organisation"
    agb: str
    name: str
    open: int


def run_overflow(session: Session, now: datetime) -> int:
    """One pass: overflow what must overflow now; returns how many did. Flushes, the caller commits.

    The agreements whose own specialists are all away are settled first (one query each, a zorggroep has a
    handful), so their consults are claimed first: a batch of consults merely near half their norm cannot
    keep a consult that nobody can answer waiting."""
    agreements = [a for a in session.scalars(select(Agreement)) if a.backup]
    if not agreements:
        return 0
    nobody = {a.id for a in agreements if a.backup.get("when_nobody_available")
              and not _available(session, list(a.specialist_agbs), now)}
    by_id = {a.id: a for a in agreements}
    tasks = list(session.scalars(
        select(ConsultTask).join(Consult, Consult.id == ConsultTask.consult_id)
        .where(ConsultTask.status == TaskStatus.ACCEPTED, ConsultTask.overflowed_at.is_(None),
               ConsultTask.escalated_at.is_(None), ConsultTask.due_at.is_not(None), Consult.priority == "routine",
               Consult.agreement_id.in_(sorted(by_id)), Consult.appointment_offered_at.is_(None))
        .order_by(Consult.agreement_id.in_(sorted(nobody) or [""]).desc(), ConsultTask.due_at)
        .limit(BATCH).with_for_update(skip_locked=True, of=ConsultTask)))
    done = 0
    for task in tasks:
        agreement = by_id[str(task.consult.agreement_id)]
        reason = NOBODY_AVAILABLE if agreement.id in nobody else norm_share_passed(task, agreement, now)
        if reason is not None:
            overflow(session, task, agreement, reason, now)
            done += 1
    session.flush()
    return done


def norm_share_passed(task: ConsultTask, agreement: Agreement, now: datetime) -> str | None:
    """NORM_SHARE_PASSED when the backup's share of the norm has passed for this consult, else None."""
    share = (agreement.backup or {}).get("after_norm_share_percent")
    norm = (agreement.answer_norms or {}).get(task.consult.priority)
    if share is None or norm is None or task.due_at is None:
        return None
    window = norm_time_between(norm, task.created_at, task.due_at)
    left = norm_time_between(norm, now, task.due_at) if now < task.due_at else window * 0
    # Passed: what is left of the norm is at most (100 - share)% of it, compared exactly.
    return NORM_SHARE_PASSED if left * 100 <= window * (100 - int(share)) else None


def _available(session: Session, agbs: list[str], now: datetime) -> list[str]:
    """Those of ``agbs`` who have no absence running now."""
    if not agbs:
        return []
    away = (select(Absence.id).where(Absence.practitioner_id == Practitioner.id, Absence.starts_at <= now,
                                     or_(Absence.ends_at.is_(None), Absence.ends_at > now)).exists())
    return sorted(agb for agb, absent in session.execute(
        select(Practitioner.agb, away).where(Practitioner.agb.in_(agbs))) if not absent and agb)


def _backup_owners(session: Session, backup: dict[str, Any], now: datetime, exclude: str | None = None
                   ) -> list[BackupOwner]:
    """The backup's available specialists, least loaded first, then its queue (when one of them is in or not)."""
    names = {str(s["agb"]): str(s["name"]) for s in backup.get("specialists", [])}
    available = [agb for agb in _available(session, sorted(names), now) if agb != exclude]
    load: dict[str | None, int] = {agb: count for agb, count in session.execute(
        select(ConsultTask.owner_agb, func.count()).where(
            ConsultTask.owner_agb.in_(available),
            ConsultTask.status.in_((TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.ON_HOLD)))
        .group_by(ConsultTask.owner_agb))} if available else {}
    people = sorted((BackupOwner("practitioner", agb, names[agb], int(load.get(agb, 0))) for agb in available),
                    key=lambda owner: (owner.open, owner.agb))
    queue = BackupOwner("organisation", str(backup["agb"]), str(backup["name"]), 0)
    return [*people, *([queue] if exclude != queue.agb else [])]


def overflow(session: Session, task: ConsultTask, agreement: Agreement, reason: str, now: datetime) -> Overflow:
    """Move the consult to the backup, record why (an Overflow row with the fee of now, the monitor's event, a
    routing decision for the specialist's history) and audit it."""
    backup = agreement.backup
    organisation = session.scalar(select(Organisation).where(Organisation.agb == backup["agb"]))
    assert organisation is not None, "the importer stores the backup organisation (agreements/backup_terms.py)"
    target = _backup_owners(session, backup, now)[0]
    share = int(backup["after_norm_share_percent"]) if reason == NORM_SHARE_PASSED else None
    previous = task.owner_agb
    why = _REASONS[reason] % {"share": share, "owner": task.owner_name or previous or "the queue"}
    text = f"Overflowed to {target.name} of {backup['name']} (backup of agreement {agreement.code}): {why}"
    row = Overflow(consult_id=task.consult_id, agreement_id=agreement.id, organisation_id=organisation.id,
                   fee_cents=int(backup["fee_cents"]), reason=reason, share_percent=share, from_owner_agb=previous,
                   to_owner_kind=target.kind, to_owner_agb=target.agb, to_owner_name=target.name, at=now)
    session.add(row)
    task.owner_kind, task.owner_agb, task.owner_name = target.kind, target.agb, target.name
    task.overflowed_at = now
    task.version_id += 1
    task.updated_at = now
    session.add(DeadlineEvent(task_id=task.id, kind="overflow", from_owner_agb=previous, to_owner_agb=target.agb,
                              reason=text, at=now))
    if task.consult.profile_id is not None:
        session.add(RoutingDecision(
            consult_id=task.consult_id, agreement_id=agreement.id, profile_id=task.consult.profile_id,
            owner_kind=target.kind, owner_agb=target.agb,
            candidates=[{"kind": target.kind, "agb": target.agb, "name": target.name, "available": True,
                         "open": target.open, "urgent_open": 0, "profile": "", "agreement": agreement.code,
                         "chosen": True}],
            reason=text, decided_at=now))
    record(session, OVERFLOW_ACTOR, event="routing.overflow", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=task.consult.patient_resource_id, at=now,
           detail=f"reason={reason}; from={previous}; to={target.kind}:{target.agb}; backup={backup['agb']}")
    return row


def backup_colleague(session: Session, task: ConsultTask, now: datetime) -> BackupOwner | None:
    """Whom an overflowed consult past its due time is escalated to: another available backup specialist, else
    the backup's queue (None when it is already there)."""
    agreement = session.get(Agreement, task.consult.agreement_id) if task.consult.agreement_id else None
    if agreement is None or not agreement.backup:
        return None
    owners = _backup_owners(session, agreement.backup, now, exclude=task.owner_agb)
    return owners[0] if owners else None


def find_overflow(session: Session, consult_id: str) -> Overflow | None:
    return session.scalar(select(Overflow).where(Overflow.consult_id == consult_id))
