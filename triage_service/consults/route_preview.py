"""A dry run of routing for administrators: why would this request go where, or nowhere."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.consults.validation import validate_consult_request
from triage_service.errors import DomainError
from triage_service.fhir.json_body import parse_json_body
from triage_service.fhir.parsing import parse_resource
from triage_service.models import Organisation
from triage_service.records.resolution import Resolver
from triage_service.routing.assignment import candidates_for, choose
from triage_service.routing.service import match_or_explain, routing_table, specialism_label
from triage_service.routing.working_time import due_at


def explain_file(session: Session, raw: bytes, practice_agb: str) -> tuple[list[str], bool]:
    """Lines to print and whether the request would route. Never writes."""
    data, issues = parse_json_body(raw)
    resource: Any = data
    if not issues:
        issues = parse_resource(data, "ServiceRequest").issues
    errors = [i for i in issues if i.is_error]
    if errors:
        return [f"Not a valid ServiceRequest: {i.english()} ({i.expression})" for i in errors], False
    organisation = session.scalar(select(Organisation).where(Organisation.agb == practice_agb))
    if organisation is None:
        return [f"No practice with AGB {practice_agb}"], False
    now = clock.now()
    try:
        fields = validate_consult_request(session, organisation, resource,
                                          Resolver(session, organisation.id, resource), now)
    except DomainError as exc:
        return [f"Refused at validation: {i.english()} ({i.expression})" for i in exc.issues], False

    request = fields.routing
    lines = [f"Request: {specialism_label(request.specialism)}, ICPC {', '.join(request.icpc_codes)}, "
             f"age {request.age}, {request.sex}, insurer {request.insurer}, {request.form}, "
             f"{request.photo_count} photo(s), priority {fields.priority}"]
    result = routing_table(session).match(request)
    if not result.matches:
        try:
            result, flag = match_or_explain(session, request)
            lines.append(f"  {flag.reason}" if flag else "")
        except DomainError:
            pass
    for profile in result.matches:
        lines.append(f"  MATCH    {profile.agreement_code} / {profile.profile_name}")
    for profile, reasons in result.near_misses:
        lines.append(f"  no match {profile.agreement_code} / {profile.profile_name}: "
                     + "; ".join(r.message.english() for r in reasons))
    if not result.matches:
        lines.extend(m.english() for m in result.explanation(specialism_label(request.specialism)))
        return lines, False
    assignment = choose(candidates_for(session, result.matches, now), fields.priority, request.performer_agb)
    if assignment is None:
        lines.append("The matching agreements name no specialists.")
        return lines, False
    for candidate in assignment.candidates:
        mark = "->" if candidate is assignment.chosen else "  "
        lines.append(f"  {mark} {candidate.kind} {candidate.agb} {candidate.name}: {candidate.open} open "
                     f"({candidate.urgent_open} urgent){'' if candidate.available else ', absent'}")
    due = due_at(now, assignment.chosen.profile.answer_norms[fields.priority])
    lines.append(assignment.reason)
    lines.append(f"Answer due {due:%Y-%m-%d %H:%M} UTC")
    return lines, True
