"""Answer-norm monitoring: no consult waits past its due time unnoticed.

Run periodically by ``triage-service worker``. A consult in its last quarter
before the due time is flagged once; one past its due time is escalated once:
reassigned to the least-loaded available colleague under the same agreement,
or to the subcontractor's group queue when there is none. Consults waiting on
the GP (``on-hold``) are not escalated: the specialist cannot act on them.

Work is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL), so any
number of workers can run side by side without handling a consult twice; on
SQLite the single writer lock (BEGIN IMMEDIATE) gives the same guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.models import AuditAction, Consult, ConsultTask, DeadlineEvent, RoutingDecision, TaskStatus
from triage_service.routing.assignment import Candidate, candidates_for
from triage_service.routing.overflow import backup_colleague, run_overflow
from triage_service.routing.service import routing_table

WORKER_ACTOR = Actor(kind="worker", id="deadline-monitor", organisation_id=None, source_ip="local")
WATCHED = (TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS)
#: Flag a consult when less than this share of its answer window is left.
NEAR_DUE_SHARE = 0.25
BATCH = 100


@dataclass(frozen=True)
class MonitorRun:
    flagged: int
    escalated: int
    unassignable: int
    #: Routine consults moved to the agreement's backup organisation (routing/overflow.py).
    overflowed: int = 0


def _claim(session: Session, *conditions: object) -> list[ConsultTask]:
    # A video consult or ECMS whose appointment was offered has met its norm (the offer is the answer).
    query = (select(ConsultTask).join(Consult, Consult.id == ConsultTask.consult_id)
             .where(ConsultTask.status.in_(WATCHED), ConsultTask.due_at.is_not(None),
                    Consult.appointment_offered_at.is_(None), *conditions)  # type: ignore[arg-type]
             .order_by(ConsultTask.due_at).limit(BATCH).with_for_update(skip_locked=True, of=ConsultTask))
    return list(session.scalars(query))


def run_deadline_jobs(session: Session, now: datetime) -> MonitorRun:
    """One pass of the monitor; flushes, the caller commits."""
    flagged = escalated = unassignable = 0
    # Before escalating: a consult the backup can still answer within the norm should go there, not be
    # escalated among the specialists who could not take it.
    overflowed = run_overflow(session, now)
    for task in _claim(session, ConsultTask.due_at <= now, ConsultTask.escalated_at.is_(None)):
        if _escalate(session, task, now):
            escalated += 1
        else:
            unassignable += 1
    for task in _claim(session, ConsultTask.due_at > now, ConsultTask.near_due_flagged_at.is_(None)):
        assert task.due_at is not None
        window = task.due_at - task.created_at
        if task.due_at - now <= window * NEAR_DUE_SHARE:
            task.near_due_flagged_at = now
            session.add(DeadlineEvent(task_id=task.id, kind="near-due", from_owner_agb=task.owner_agb, at=now,
                                      reason=f"Less than {NEAR_DUE_SHARE:.0%} of the answer time is left"))
            flagged += 1
    session.flush()
    return MonitorRun(flagged, escalated, unassignable, overflowed)


def _colleague(session: Session, task: ConsultTask, now: datetime) -> Candidate | None:
    """The least-loaded available specialist of the same profile other than the current owner, else the group."""
    if task.overflowed_at is not None:
        # It overflowed because the agreement's own specialists could not make the norm: it stays with the backup.
        backup = backup_colleague(session, task, now)
        table_profile = next((p for p in routing_table(session).by_specialism.get(task.consult.specialism, ())
                              if p.profile_id == task.consult.profile_id), None)
        if backup is None or table_profile is None:
            return None
        return Candidate(backup.kind, backup.agb, backup.name, table_profile, True, backup.open, 0, now)
    table = routing_table(session)
    consult = task.consult
    profile = next((p for p in table.by_specialism.get(consult.specialism, ())
                    if p.profile_id == consult.profile_id), None)
    if profile is None:
        return None
    others = [c for c in candidates_for(session, [profile], now) if c.agb != task.owner_agb and c.available]
    if others:
        return min(others, key=lambda c: (c.open, c.last_assigned_at, c.agb))
    if task.owner_kind != "organisation":
        return Candidate("organisation", profile.subcontractor_agb, profile.subcontractor_name, profile,
                         True, 0, 0, now)
    return None


def _escalate(session: Session, task: ConsultTask, now: datetime) -> bool:
    task.escalated_at = now
    target = _colleague(session, task, now)
    previous = task.owner_agb
    if target is None:
        session.add(DeadlineEvent(task_id=task.id, kind="overdue-unassignable", from_owner_agb=previous, at=now,
                                  reason="Past its due time and no colleague or group queue can take it over"))
        return False
    reason = (f"Past its due time with {task.owner_name or previous}; escalated to {target.name} "
              f"({target.open} open consults).")
    task.owner_kind, task.owner_agb, task.owner_name = target.kind, target.agb, target.name
    task.version_id += 1
    task.updated_at = now
    session.add(DeadlineEvent(task_id=task.id, kind="escalated", from_owner_agb=previous, to_owner_agb=target.agb,
                              reason=reason, at=now))
    session.add(RoutingDecision(consult_id=task.consult_id, agreement_id=target.profile.agreement_id,
                                profile_id=target.profile.profile_id, owner_kind=target.kind, owner_agb=target.agb,
                                candidates=[target.as_record(True)], reason=reason, decided_at=now))
    record(session, WORKER_ACTOR, event="routing.escalate", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=task.consult.patient_resource_id, at=now,
           detail=f"from={previous}; to={target.kind}:{target.agb}")
    return True
