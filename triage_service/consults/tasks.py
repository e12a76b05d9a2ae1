"""The consult Task's life cycle as the GP system may change it.

The GP may cancel its own consult until it is completed (FHIR.md: "GP cancels
by updating its Task to cancelled"); every other field of the Task belongs to
the service. Transitions follow ``TASK_TRANSITIONS``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.consults.appointments import cancel_open_appointments
from triage_service.consults.task_states import check_version, transition
from triage_service.errors import N_, InvalidTransition, UnprocessableInput
from triage_service.fhir.meta import stamp
from triage_service.models import AuditAction, ConsultTask, RequestStatus, TaskStatus
from triage_service.outcome import Issue


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
        raise UnprocessableInput(
            N_("A GP system may only cancel its consult or acknowledge the advice"),
            issues=[
                Issue(
                    "business-rule",
                    N_(
                        "A GP system may only change a consult Task's status to 'cancelled', or acknowledge a "
                        "completed consult's advice with businessStatus advice-acknowledged"
                    ),
                    "Task.status",
                )
            ],
        )
    transition(task, TaskStatus.CANCELLED, now)

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
        raise InvalidTransition(N_("Only advice that was given can be acknowledged"), expression="Task.businessStatus")
    if task.business_status == "advice-acknowledged":
        return
    task.business_status = "advice-acknowledged"
    task.version_id += 1
    task.updated_at = now
    session.flush()
    record(session, actor, event="fhir.update", action=AuditAction.UPDATE, resource_type="Task", resource_id=task.id,
           patient_ref=task.consult.patient_resource_id, detail="businessStatus=advice-acknowledged", at=now)
