"""Forwarding a consult the specialist should not answer: to a colleague of the same agreement, or to
another specialism (routed afresh by the patient profiles of the agreements). Open appointments are
cancelled and the GP sees in the thread why the consult moved.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.audit.trail import record
from triage_service.consults import appointments, norm_clock, time_spent
from triage_service.consults.specialist import actor_of, checked_text, open_task_of
from triage_service.errors import N_, FormErrors, UnprocessableInput
from triage_service.fhir.dutch import postcode_digits
from triage_service.models.agreement import Agreement
from triage_service.models.audit import AuditAction
from triage_service.models.consult import REFERRAL_CATEGORY, ConsultTask
from triage_service.models.organisation import Organisation, Practitioner
from triage_service.models.routing import RoutingDecision
from triage_service.routing.matching import RoutingRequest
from triage_service.routing.service import age_on, record_decision, route, routing_table
from triage_service.routing.working_time import AMSTERDAM
from triage_service.security.web_auth import InboxUser

SPECIALISM_PREFIX = "specialism:"



def forward(session: Session, user: InboxUser, consult_id: str, to_agb: str, reason: str, now: datetime,
            source_ip: str | None = None, minutes: str = "") -> None:
    """Hand the consult to a colleague under the same agreement, the group queue, or (``specialism:<code>``)
    another specialism, which routes it afresh under that specialism's agreements, with a reason."""
    errors: dict[str, str] = {}
    text = checked_text(reason, "reason", N_("Give a reason"), errors)
    spent = time_spent.parse_minutes(minutes, errors)
    task = open_task_of(session, user, consult_id)
    if to_agb.startswith(SPECIALISM_PREFIX):
        if errors:
            raise FormErrors(errors)
        _forward_to_specialism(session, user, task, to_agb.removeprefix(SPECIALISM_PREFIX), text, now, source_ip)
        time_spent.register(session, task.consult, user, "forward", spent, now)
        return
    decision = session.scalar(select(RoutingDecision).where(RoutingDecision.consult_id == consult_id)
                              .order_by(RoutingDecision.decided_at.desc()).limit(1))
    colleagues = colleagues_of(session, task)
    if to_agb not in colleagues or to_agb == task.owner_agb:
        errors["to"] = N_("Choose a colleague or the group queue")
    if errors:
        raise FormErrors(errors)
    kind, name = colleagues[to_agb]
    previous = task.owner_name
    time_spent.register(session, task.consult, user, "forward", spent, now)
    # Proposed and booked times were in the previous specialist's agenda: the new owner proposes their own.
    appointments.cancel_open_appointments(session, task.consult, "specialist", N_("The consult was forwarded"), now)
    task.owner_kind, task.owner_agb, task.owner_name = kind, to_agb, name
    task.version_id += 1
    task.updated_at = now
    if decision is not None:
        session.add(RoutingDecision(consult_id=consult_id, agreement_id=decision.agreement_id,
                                    profile_id=decision.profile_id, owner_kind=kind, owner_agb=to_agb,
                                    candidates=[], reason=f"Forwarded by {user.display_name} (was {previous}): {text}",
                                    decided_at=now))
    session.flush()
    record(session, actor_of(user, source_ip), event="consult.forward", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=task.consult.patient_resource_id, at=now, detail=f"to={kind}:{to_agb}")



def _forward_to_specialism(session: Session, user: InboxUser, task: ConsultTask, specialism: str, reason: str,
                           now: datetime, source_ip: str | None) -> None:
    consult = task.consult
    if specialism == consult.specialism:
        raise FormErrors({"to": N_("Choose a colleague or the group queue")})
    today = now.astimezone(AMSTERDAM).date()
    request = RoutingRequest(specialism=specialism, icpc_codes=tuple(consult.icpc_codes),
                             age=age_on(consult.patient_birth_date, today), sex=consult.patient_gender,
                             postcode=postcode_digits(consult.patient_postcode), insurer=consult.insurer_uzovi,
                             form=consult.consult_form, photo_count=consult.photo_count, on=today,
                             category=consult.category)
    try:
        outcome = route(session, request, consult.priority, now)
    except UnprocessableInput as refused:
        raise FormErrors({"to": N_("No agreement of that specialism covers this patient and question")}) from refused
    chosen = outcome.assignment.chosen
    previous = task.owner_name
    appointments.cancel_open_appointments(session, consult, "specialist", N_("The consult was forwarded"), now)
    consult.specialism, consult.agreement_id, consult.profile_id = specialism, chosen.profile.agreement_id, \
        chosen.profile.profile_id
    task.owner_kind, task.owner_agb, task.owner_name = chosen.kind, chosen.agb, chosen.name
    norm_clock.restart(task, outcome.due, now)  # the new specialism's norm, from now
    task.version_id += 1
    task.updated_at = now
    forwarded = f"Forwarded by {user.display_name} (was {previous}) to another specialism: {reason}. "
    record_decision(session, consult.id, outcome, now, reason_before=forwarded)
    session.flush()
    record(session, actor_of(user, source_ip), event="consult.forward", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=consult.patient_resource_id, at=now,
           detail=f"to=specialism:{specialism}; owner={chosen.kind}:{chosen.agb}")



def other_specialisms(session: Session, task: ConsultTask) -> list[str]:
    """Specialisms with an agreement in force that could take this consult (by insurer, form and category).

    A referral can only go to a profile that admits referrals; a meekijkconsult may also land on a referral
    profile (routing accepts it there as a likely referral), so for it the category does not narrow the list.
    """
    table = routing_table(session)
    consult = task.consult
    return sorted({p.specialism for profiles in table.by_specialism.values() for p in profiles
                   if p.specialism != consult.specialism and consult.insurer_uzovi in p.insurers
                   and consult.consult_form in p.forms
                   and (not consult.is_referral_for_triage or REFERRAL_CATEGORY in p.categories)})



def colleagues_of(session: Session, task: ConsultTask) -> dict[str, tuple[str, str]]:
    """Who may take over: the specialists of the consult's agreement and its group queue, by AGB."""
    agreement = session.get(Agreement, task.consult.agreement_id) if task.consult.agreement_id else None
    if agreement is None:
        return {}
    people = {p.agb: ("practitioner", p.name) for p in session.scalars(
        select(Practitioner).where(Practitioner.agb.in_(agreement.specialist_agbs)))}
    group = session.get(Organisation, agreement.subcontractor_id)
    if group is not None and group.agb:
        people[group.agb] = ("organisation", group.name)
    return people
