"""The consult Task's state machine: which status may follow which (``TASK_TRANSITIONS``), and the
optimistic-locking check every change of a Task passes (``If-Match`` against ``meta.versionId``)."""

from __future__ import annotations

from triage_service.errors import InvalidInput, InvalidTransition, PreconditionFailed
from triage_service.models import TASK_TRANSITIONS, ConsultTask, TaskStatus


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
