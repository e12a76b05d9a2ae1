"""The consult Task's state machine: which status may follow which (``TASK_TRANSITIONS``), and the
optimistic-locking check every change of a Task passes (``If-Match`` against ``meta.versionId``)."""

from __future__ import annotations

from datetime import datetime

from triage_service.consults import norm_clock
from triage_service.errors import N_, InvalidInput, InvalidTransition, PreconditionFailed
from triage_service.models import TASK_TRANSITIONS, ConsultTask, TaskStatus


def check_version(current: int, if_match: str | None) -> None:
    """``If-Match: W/"n"`` must name the current version (FHIR versioned update)."""
    if if_match is None:
        return
    wanted = if_match.strip().removeprefix("W/").strip('"')
    if not wanted.isdigit():
        raise InvalidInput(N_("If-Match must name a version as the ETag gives it, e.g. W/\"3\""))
    if wanted != str(current):
        raise PreconditionFailed(N_("The resource is at version %(current)s, not %(wanted)s: read it again and "
                                    "retry with the current ETag"), params={"current": current, "wanted": wanted})



def transition(task: ConsultTask, to: TaskStatus, now: datetime) -> None:
    """Change the Task's status if the state machine allows it; the norm clock pauses on entering on-hold and
    resumes on leaving it (consults/norm_clock.py), which is why every change needs the moment it happens."""
    allowed = TASK_TRANSITIONS.get(task.status, frozenset())
    if to not in allowed:
        raise InvalidTransition(N_("A Task with status '%(value)s' cannot become '%(value2)s'"),
                                expression="Task.status", params={"value": task.status.value, "value2": to.value})
    norm_clock.on_transition(task, to, now)
    task.status = to
