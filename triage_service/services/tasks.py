"""The consult Task's life cycle as the GP system may change it.

The GP may cancel its own consult until it is completed (FHIR.md: "GP cancels
by updating its Task to cancelled"); every other field of the Task belongs to
the service. Transitions follow ``TASK_TRANSITIONS``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from triage_service.errors import InvalidInput, InvalidTransition, PreconditionFailed, UnprocessableInput
from triage_service.fhir.outcome import Issue
from triage_service.models import TASK_TRANSITIONS, AuditAction, ConsultTask, RequestStatus, TaskStatus
from triage_service.security.audit import Actor, record
from triage_service.services.intake import stamp


def check_version(current: int, if_match: str | None) -> None:
    """``If-Match: W/"n"`` must name the current version (FHIR versioned update)."""
    if if_match is None:
        return
    wanted = if_match.strip().removeprefix("W/").strip('"')
    if not wanted.isdigit():
        raise InvalidInput('If-Match must name a version as the ETag gives it, e.g. W/"3"')
    if wanted != str(current):
        raise PreconditionFailed(f"The resource is at version {current}, not {wanted}: read it again and "
                                 "retry with the current ETag")


def transition(task: ConsultTask, to: TaskStatus) -> None:
    allowed = TASK_TRANSITIONS.get(task.status, frozenset())
    if to not in allowed:
        raise InvalidTransition(f"A Task with status '{task.status.value}' cannot become '{to.value}'",
                                expression="Task.status")
    task.status = to


def update_task_by_gp(session: Session, actor: Actor, task: ConsultTask, submitted: dict[str, Any],
                      if_match: str | None, now: datetime) -> ConsultTask:
    """Apply a GP's PUT of its Task: only ``status`` -> cancelled (with an optional reason) is allowed."""
    check_version(task.version_id, if_match)
    wanted = submitted.get("status")
    business = submitted.get("businessStatus", {})
    codes = [c.get("code") for c in business.get("coding", [])] if isinstance(business, dict) else []
    if wanted == task.status.value == TaskStatus.COMPLETED.value and "advice-acknowledged" in codes:
        acknowledge_advice(session, actor, task, now)  # the GP confirms the advice arrived
        return task
    if wanted == task.status.value:
        return task  # nothing changed: FHIR update is idempotent
    if wanted != TaskStatus.CANCELLED.value:
        raise UnprocessableInput("A GP system may only cancel its consult or acknowledge the advice",
                                 issues=[Issue("business-rule", "A GP system may only change a consult Task's "
                                               "status to 'cancelled', or acknowledge a completed consult's advice "
                                               "with businessStatus advice-acknowledged", "Task.status")])
    transition(task, TaskStatus.CANCELLED)
    # Imported here: services/appointments.py builds on this module's version check and transitions.
    from triage_service.services.appointments import cancel_open_appointments

    cancel_open_appointments(session, task.consult, "gp", "The GP cancelled the consult", now)
    reason = submitted.get("statusReason", {})
    task.status_reason = reason.get("text") if isinstance(reason, dict) else None
    task.business_status = "cancelled-by-gp"
    task.version_id += 1
    task.updated_at = now
    consult = task.consult
    consult.status = RequestStatus.REVOKED
    consult.version_id += 1
    consult.updated_at = now
    consult.resource = stamp({**consult.resource, "status": RequestStatus.REVOKED.value}, consult.id,
                             consult.version_id, now)
    # A concurrent update with the same version fails here with StaleDataError (optimistic
    # locking on version_id); api/errors.py answers it as 412, wherever the flush happens.
    session.flush()
    record(session, actor, event="fhir.update", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=consult.patient_resource_id, detail="status=cancelled", at=now)
    return task


def acknowledge_advice(session: Session, actor: Actor, task: ConsultTask, now: datetime) -> None:
    """The GP system confirms the advice arrived (business status advice-acknowledged)."""
    if task.status is not TaskStatus.COMPLETED:
        raise InvalidTransition("Only advice that was given can be acknowledged", expression="Task.businessStatus")
    if task.business_status == "advice-acknowledged":
        return
    task.business_status = "advice-acknowledged"
    task.version_id += 1
    task.updated_at = now
    session.flush()
    record(session, actor, event="fhir.update", action=AuditAction.UPDATE, resource_type="Task", resource_id=task.id,
           patient_ref=task.consult.patient_resource_id, detail="businessStatus=advice-acknowledged", at=now)
