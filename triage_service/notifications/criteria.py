"""R4 subscription criteria on Tasks: parsed once when subscribing, matched when a Task changes.

The parameters mean what they mean in ``GET /fhir/Task`` search (api/search.py), so a
GP system can try its criteria as a search first. Matching runs in Python on the
changed Task rather than as a query: it happens inside the transaction of every Task
change, for every subscription of the organisation, and must cost no round trips.

A back-referral's Task (issue 23) is matched on what that Task says (fhir/back_referrals.py): its status and
business status, its focus (the back-referral's own ServiceRequest, never one of the consults a criterion may
name), its owner (the practice, by AGB) and its requester (the specialist, by AGB). Each parameter has a value
on it, so none is left unevaluated: ``Task?owner=<the practice's AGB>`` gets exactly the back-referrals, since
a consult's Task is owned by a specialist or a group.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from triage_service.errors import N_, UnprocessableInput
from triage_service.fhir.back_referrals import TASK_STATE, service_request_id
from triage_service.fhir.dutch import AGB
from triage_service.models import BackReferral, ConsultTask, TaskStatus
from triage_service.outcome import Issue

#: Parameters a criteria string may use (a subset of the Task search parameters).
PARAMETERS = ("status", "business-status", "focus", "owner", "owner:identifier", "requester",
              "requester:identifier")
_EXPRESSION = "Subscription.criteria"


@dataclass(frozen=True)
class TaskCriteria:
    """Each field is a set of accepted values (any of them); an empty set accepts everything."""

    statuses: frozenset[str] = frozenset()
    business_statuses: frozenset[str] = frozenset()
    focus: frozenset[str] = frozenset()
    owners: frozenset[str] = frozenset()
    requesters: frozenset[str] = frozenset()

    def matches(self, task: ConsultTask | BackReferral) -> bool:
        """Whether a consult's Task, or a back-referral's, is one the criteria ask for."""
        if isinstance(task, BackReferral):
            status, business_status, _ = TASK_STATE[task.status]
            values = (status, business_status, service_request_id(task), task.practice.agb, task.specialist.agb)
        else:
            values = (task.status.value, task.business_status, task.consult_id, task.owner_agb,
                      task.consult.requester_agb)
        accepted = (self.statuses, self.business_statuses, self.focus, self.owners, self.requesters)
        return all(_accepts(allowed, value) for allowed, value in zip(accepted, values, strict=True))


def _refused(message: str, code: str = "value", **params: object) -> UnprocessableInput:
    """``message`` is a template marked with ``N_``; ``params`` its values (outcome.py)."""
    return UnprocessableInput(message, params=params, issues=[Issue(code, message, _EXPRESSION, params=params)])


def _accepts(allowed: frozenset[str], value: str | None) -> bool:
    return not allowed or value in allowed


def parse_criteria(criteria: str) -> TaskCriteria:
    """``Task`` or ``Task?param=value[,value]&...``; anything else is refused with the reason."""
    rtype, _, query = criteria.strip().partition("?")
    if rtype != "Task":
        raise _refused(N_("Subscriptions are on Task only (criteria 'Task?...'), not '%(rtype)s'"), "not-supported",
                       rtype=rtype)
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True) if query else []
    except ValueError as exc:
        raise _refused(N_("The criteria's query is not name=value pairs joined by '&'")) from exc
    values: dict[str, set[str]] = {}
    for name, raw in pairs:
        if name not in PARAMETERS:
            raise _refused(N_("Criteria parameter '%(name)s' is not supported; use %(parameters)s"),
                          "not-supported", name=name, parameters=', '.join(PARAMETERS))
        parts = [v for v in raw.split(",") if v]
        if not parts:
            raise _refused(N_("Criteria parameter '%(name)s' has no value"), name=name)
        values.setdefault(name.split(":")[0], set()).update(_normalise(name, v) for v in parts)
    statuses = values.get("status", set())
    unknown = statuses - {s.value for s in TaskStatus}
    if unknown:
        raise _refused(N_("Unknown Task status in criteria: %(statuses)s"), statuses=', '.join(sorted(unknown)))
    return TaskCriteria(frozenset(statuses), frozenset(values.get("business-status", set())),
                        frozenset(values.get("focus", set())), frozenset(values.get("owner", set())),
                        frozenset(values.get("requester", set())))


def _normalise(name: str, value: str) -> str:
    system, sep, code = value.rpartition("|")
    if name.startswith(("owner", "requester")):
        if sep and system not in ("", AGB):
            raise _refused(N_("'%(name)s' is matched by AGB code (%(agb)s|<code>)"), name=name, agb=AGB)
        return code
    if name == "focus":
        return value.removeprefix("ServiceRequest/").split("/")[0]
    return code if sep else value
