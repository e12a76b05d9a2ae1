"""The transactional outbox: every committed Task change owes each matching subscription a notification.

Session events rather than calls in each service: Tasks change in many places (intake,
routing, the inbox, the GP's cancel and acknowledge, the deadline worker), and a
notification forgotten in one of them would be a silent gap in the GP system's view.
The rows are written just before the commit that changes the Task, so they commit or
roll back with it; the worker delivers them afterwards (notifications/delivery.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from triage_service.models import ConsultTask, Notification, Subscription, SubscriptionStatus
from triage_service.models.base import utcnow
from triage_service.notifications.criteria import parse_criteria

_CHANGED = "triage.changed_tasks"
#: Subscriptions still owed events: an errored one keeps collecting them, so that nothing is
#: lost while the receiver is down and everything arrives once the GP system resumes it.
COLLECTING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.ERROR)


@event.listens_for(Session, "before_flush")
def _note_changed_tasks(session: Session, _context: Any, _instances: Any) -> None:
    changed: dict[int, ConsultTask] = session.info.setdefault(_CHANGED, {})
    for obj in session.new:
        if isinstance(obj, ConsultTask):
            changed[id(obj)] = obj
    for obj in session.dirty:
        if isinstance(obj, ConsultTask) and session.is_modified(obj, include_collections=False):
            changed[id(obj)] = obj


@event.listens_for(Session, "before_commit")
def _write_notifications(session: Session) -> None:
    session.flush()  # changes made since the last flush are seen by _note_changed_tasks now
    changed: dict[int, ConsultTask] = session.info.pop(_CHANGED, {})
    if changed:
        record_notifications(session, list(changed.values()), utcnow())


@event.listens_for(Session, "after_rollback")
def _forget_changed_tasks(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def record_notifications(session: Session, tasks: list[ConsultTask], now: datetime) -> int:
    """Queue one notification per (matching subscription, changed Task); returns how many."""
    by_organisation: dict[str, list[ConsultTask]] = {}
    for task in tasks:
        by_organisation.setdefault(task.organisation_id, []).append(task)
    queued = 0
    for organisation_id, changed in by_organisation.items():
        subscriptions = session.scalars(select(Subscription).where(
            Subscription.organisation_id == organisation_id, Subscription.status.in_(COLLECTING))).all()
        for subscription in subscriptions:
            if subscription.end_at is not None and subscription.end_at <= now:
                continue
            criteria = parse_criteria(subscription.criteria)
            for task in changed:
                if criteria.matches(task):
                    _queue(session, subscription, task, now)
                    queued += 1
    if queued:
        session.flush()
    return queued


def _queue(session: Session, subscription: Subscription, task: ConsultTask, now: datetime) -> None:
    # An atomic increment, not read-modify-write: two requests changing Tasks of the same
    # practice at once must not hand out the same event number.
    number = session.execute(
        update(Subscription).where(Subscription.id == subscription.id)
        .values(events_since_start=Subscription.events_since_start + 1)
        .returning(Subscription.events_since_start),
        execution_options={"synchronize_session": False}).scalar_one()
    # The event's time is the Task's own change time (the service's clock), not the commit's.
    session.add(Notification(subscription_id=subscription.id, event_number=number, task_id=task.id,
                             task_version=task.version_id, created_at=task.updated_at or now))
