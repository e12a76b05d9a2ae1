"""The call-out of an urgent consult: alert the specialist on call until someone takes it, then the backup,
then the group (issue 20).

An urgent consult whose agreement sets a clock-time norm (hours or minutes, day and night) is called out from
the moment it is routed: the assignee is alerted at once (Web Push to every device, e-mail at each stage's
start; notifications/callout_alerts.py), again every ``repeat_minutes``, until someone says "Ik pak hem op".
After ``escalate_after_minutes`` without a take the consult moves to the backup (the rota's achterwacht, or in
office hours the next available colleague), and after as long again to the group queue, whose specialists of
the consult's specialism are all alerted. Each step is a DeadlineEvent (shown to the GP as Task notes and on
the portal), an audit entry, and a new Task version, so the GP system's subscription hears of it.

A specialist who starts work on the consult in any other way (answers, asks the GP, forwards) has taken it
too: the worker closes the call-out at the time the Task left ``accepted``.

The worker claims call-outs with ``SELECT ... FOR UPDATE SKIP LOCKED`` like the answer-norm monitor, so any
number of workers alert each consult once per round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.consults.specialist import take
from triage_service.errors import Conflict, NotFound
from triage_service.models import (
    AuditAction,
    CalloutStage,
    Consult,
    ConsultTask,
    DeadlineEvent,
    Organisation,
    Practitioner,
    RoutingDecision,
    TaskStatus,
    UrgentCallout,
)
from triage_service.notifications.callout_alerts import Alert, queue_alerts, specialists_called
from triage_service.routing.service import RoutingOutcome
from triage_service.security.web_auth import InboxUser
from triage_service.settings import Settings

WORKER_ACTOR = Actor(kind="worker", id="callout", organisation_id=None, source_ip="local")
BATCH = 100
DEFAULT_REPEAT_MINUTES = 5
DEFAULT_ESCALATE_AFTER_MINUTES = 15


@dataclass(frozen=True)
class CalloutRun:
    alerted: int
    escalated: int
    closed: int


def open_callout(session: Session, task: ConsultTask, outcome: RoutingOutcome, now: datetime) -> UrgentCallout | None:
    """Start the call-out of a newly routed urgent consult and send its first round at once (with the commit)."""
    if not outcome.called_out or task.owner_agb is None:
        return None
    chosen = outcome.assignment.chosen
    settings = chosen.profile.callout
    callout = UrgentCallout(
        task_id=task.id, stage=CalloutStage.GROUP if chosen.kind == "organisation" else CalloutStage.ON_CALL,
        stage_since=now, on_call_agb=chosen.agb, backup_agb=outcome.backup.agb if outcome.backup else None,
        group_agb=chosen.profile.subcontractor_agb,
        repeat_minutes=int(settings.get("repeat_minutes", DEFAULT_REPEAT_MINUTES)),
        escalate_after_minutes=int(settings.get("escalate_after_minutes", DEFAULT_ESCALATE_AFTER_MINUTES)),
        next_alert_at=now, alerts_sent=0, created_at=now)
    session.add(callout)
    session.add(DeadlineEvent(task_id=task.id, kind="callout-started", to_owner_agb=task.owner_agb,
                              reason=task.owner_name or task.owner_agb, at=now))
    session.flush()
    _alert(session, callout, task, now, first_of_stage=True)
    return callout


def callout_of(session: Session, task_id: str) -> UrgentCallout | None:
    return session.scalar(select(UrgentCallout).where(UrgentCallout.task_id == task_id))


def run_callout_jobs(session: Session, now: datetime) -> CalloutRun:
    """One pass: close call-outs whose consult is no longer waiting, escalate and alert the due ones."""
    alerted = escalated = closed = 0
    due = session.scalars(select(UrgentCallout).where(UrgentCallout.next_alert_at <= now)
                          .order_by(UrgentCallout.next_alert_at).limit(BATCH).with_for_update(skip_locked=True)).all()
    for callout in due:
        task = session.get(ConsultTask, callout.task_id)
        assert task is not None  # the call-out is deleted with its Task
        if task.status is not TaskStatus.ACCEPTED:
            # Someone started on it (or it was cancelled): nobody needs waking any more.
            _close(session, callout, task, task.updated_at if task.status is not TaskStatus.CANCELLED else None)
            closed += 1
            continue
        first = False
        if now - callout.stage_since >= timedelta(minutes=callout.escalate_after_minutes) \
                and callout.stage != CalloutStage.GROUP:
            _escalate(session, callout, task, now)
            escalated += 1
            first = True
        _alert(session, callout, task, now, first_of_stage=first)
        alerted += 1
    session.flush()
    return CalloutRun(alerted, escalated, closed)


def _close(session: Session, callout: UrgentCallout, task: ConsultTask, taken_at: datetime | None) -> None:
    callout.next_alert_at = None
    if taken_at is not None and task.owner_kind == "practitioner" and callout.taken_at is None:
        callout.taken_at, callout.taken_by_agb, callout.taken_by_name = taken_at, task.owner_agb, task.owner_name
        session.add(DeadlineEvent(task_id=task.id, kind="callout-taken", to_owner_agb=task.owner_agb,
                                  reason=task.owner_name or "", at=taken_at))


def _escalate(session: Session, callout: UrgentCallout, task: ConsultTask, now: datetime) -> None:
    """To the backup (when there is one and it is not the one already called), else to the group queue."""
    previous = task.owner_agb
    to_backup = callout.stage == CalloutStage.ON_CALL and callout.backup_agb not in (None, previous)
    if to_backup:
        assert callout.backup_agb is not None
        name = session.scalar(select(Practitioner.name).where(Practitioner.agb == callout.backup_agb))
        kind, agb, owner_name = "practitioner", callout.backup_agb, name or callout.backup_agb
        callout.stage = CalloutStage.BACKUP
    else:
        name = session.scalar(select(Organisation.name).where(Organisation.agb == callout.group_agb))
        kind, agb, owner_name = "organisation", callout.group_agb, name or callout.group_agb
        callout.stage = CalloutStage.GROUP
    callout.stage_since = now
    reason = (f"Not taken within {callout.escalate_after_minutes} minutes by {task.owner_name or previous}; "
              f"called out to {owner_name}.")
    task.owner_kind, task.owner_agb, task.owner_name = kind, agb, owner_name
    task.version_id += 1
    task.updated_at = now
    session.add(DeadlineEvent(task_id=task.id, kind="callout-escalated", from_owner_agb=previous, to_owner_agb=agb,
                              reason=owner_name, at=now))
    consult = task.consult
    if consult.agreement_id and consult.profile_id:
        session.add(RoutingDecision(consult_id=consult.id, agreement_id=consult.agreement_id,
                                    profile_id=consult.profile_id, owner_kind=kind, owner_agb=agb,
                                    candidates=[], reason=reason, decided_at=now))
    record(session, WORKER_ACTOR, event="callout.escalate", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=consult.patient_resource_id, at=now,
           detail=f"from={previous}; to={kind}:{agb}; stage={callout.stage}")


def _alert(session: Session, callout: UrgentCallout, task: ConsultTask, now: datetime, first_of_stage: bool) -> None:
    # The specialist on call keeps being alerted with the backup: either may take it.
    named = {CalloutStage.ON_CALL: [callout.on_call_agb],
             CalloutStage.BACKUP: [callout.on_call_agb, *([callout.backup_agb] if callout.backup_agb else [])]}
    agbs = named.get(callout.stage, [callout.on_call_agb, *([callout.backup_agb] if callout.backup_agb else [])])
    group = callout.group_agb if callout.stage == CalloutStage.GROUP else None
    consult = task.consult
    users = specialists_called(session, agbs, group, consult.specialism)
    settings: Settings | None = session.info.get("triage.settings")
    if settings is not None:
        queue_alerts(session, settings, users, Alert(consult, task.due_at, callout.stage, first_of_stage,
                                                     callout.repeat_minutes * 60), now)
    callout.alerts_sent += 1
    callout.next_alert_at = now + timedelta(minutes=callout.repeat_minutes)
    record(session, WORKER_ACTOR, event="callout.alert", action=AuditAction.EXECUTE, resource_type="Task",
           resource_id=task.id, patient_ref=consult.patient_resource_id, at=now,
           detail=f"stage={callout.stage}; round={callout.alerts_sent}; users={len(users)}")


def may_take(session: Session, user: InboxUser, callout: UrgentCallout, consult: Consult) -> bool:
    """The specialist on call, the backup, the current owner, or a specialist of the group of that specialism."""
    if not user.practitioner_agb:
        return False
    if user.practitioner_agb in (callout.on_call_agb, callout.backup_agb) or \
            (user.organisation_agb == callout.group_agb and _of_specialism(session, user, consult.specialism)):
        return True
    return consult.task.owner_agb == user.practitioner_agb


def _of_specialism(session: Session, user: InboxUser, specialism: str) -> bool:
    return session.scalar(select(Practitioner.specialism).where(Practitioner.agb == user.practitioner_agb)) \
        == specialism


def take_consult(session: Session, actor: Actor, user: InboxUser, consult_id: str, now: datetime) -> UrgentCallout:
    """"Ik pak hem op": the consult becomes the user's own and in progress, and the alerts stop."""
    row = session.execute(select(UrgentCallout, ConsultTask).join(ConsultTask, ConsultTask.id == UrgentCallout.task_id)
                          .where(ConsultTask.consult_id == consult_id).with_for_update(of=UrgentCallout)).first()
    if row is None:
        raise NotFound("This consult does not exist or is not an urgent consult that is being called out")
    callout, task = row[0], row[1]
    if not may_take(session, user, callout, task.consult):
        raise NotFound("This consult does not exist or is not an urgent consult that is being called out")
    if callout.taken_at is not None:
        raise Conflict(f"{callout.taken_by_name} already took this consult")
    if task.status not in (TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.ON_HOLD):
        raise Conflict("This consult is no longer open")
    previous = task.owner_agb
    if task.owner_agb != user.practitioner_agb:
        task.owner_kind, task.owner_agb, task.owner_name = "practitioner", user.practitioner_agb, user.display_name
    take(task, user, now)
    callout.taken_at, callout.taken_by_user_id = now, user.id
    callout.taken_by_agb, callout.taken_by_name = user.practitioner_agb, user.display_name
    callout.next_alert_at = None
    session.add(DeadlineEvent(task_id=task.id, kind="callout-taken", from_owner_agb=previous,
                              to_owner_agb=user.practitioner_agb, reason=user.display_name, at=now))
    record(session, actor, event="callout.take", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=task.consult.patient_resource_id, at=now,
           detail=f"stage={callout.stage}; after_alerts={callout.alerts_sent}")
    session.flush()
    return callout


@dataclass(frozen=True)
class WaitingCallout:
    """An urgent consult nobody has taken yet, for the inbox's banner (no patient data)."""

    consult_id: str
    specialism: str
    priority: str
    due_at: datetime | None
    stage: str
    since: datetime


def waiting_callouts(session: Session, user: InboxUser) -> list[WaitingCallout]:
    """Urgent consults waiting for anyone of the user's groups: named to them, or in their organisation's call-out."""
    if not user.practitioner_agb and not user.organisation_agb:
        return []
    specialism = session.scalar(select(Practitioner.specialism).where(Practitioner.agb == user.practitioner_agb)) \
        if user.practitioner_agb else None
    # The group's call-out concerns its specialists of the consult's specialism (as may_take has it).
    mine = or_(UrgentCallout.on_call_agb == user.practitioner_agb, UrgentCallout.backup_agb == user.practitioner_agb,
               (UrgentCallout.group_agb == user.organisation_agb) & (Consult.specialism == specialism))
    rows = session.execute(
        select(Consult.id, Consult.specialism, Consult.priority, ConsultTask.due_at, UrgentCallout.stage,
               UrgentCallout.created_at)
        .join(ConsultTask, ConsultTask.id == UrgentCallout.task_id).join(Consult, Consult.id == ConsultTask.consult_id)
        .where(UrgentCallout.taken_at.is_(None), UrgentCallout.next_alert_at.is_not(None), mine,
               ConsultTask.status == TaskStatus.ACCEPTED)
        .order_by(ConsultTask.due_at).limit(20)).all()
    return [WaitingCallout(*row) for row in rows]


def callout_steps(session: Session, task_id: str) -> list[DeadlineEvent]:
    """The call-out's steps in order (started, escalated, taken): the GP's Task notes and the portal show them."""
    return list(session.scalars(select(DeadlineEvent).where(DeadlineEvent.task_id == task_id,
                                                            DeadlineEvent.kind.like("callout-%"))
                                .order_by(DeadlineEvent.at, DeadlineEvent.id)))
