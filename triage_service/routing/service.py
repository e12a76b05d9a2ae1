"""Routing a consult at intake: match, assign, compute the due time, record why.

The compiled routing table is cached per process and rebuilt when the
agreements in the database change (checked with one cheap aggregate query per
decision), so every gunicorn worker routes by the same, current agreements
without keeping state another worker needs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import URL, func, select
from sqlalchemy.orm import Session, selectinload

from triage_service.database import insert_new
from triage_service.errors import N_, UnprocessableInput
from triage_service.fhir.profiles import CANONICAL_BASE, registry
from triage_service.models import Agreement, PatientProfile, RoutingDecision
from triage_service.models.consult import REFERRAL_CATEGORY
from triage_service.outcome import LANGUAGES, Localized, issue
from triage_service.routing.assignment import (
    NEVER,
    URGENT_PRIORITIES,
    Assignment,
    Candidate,
    candidates_for,
    choose,
)
from triage_service.routing.matching import MatchResult, RoutingRequest, RoutingTable, compile_profiles
from triage_service.routing.on_call import on_call_at
from triage_service.routing.referral_flags import FiredFlag, fired_flags, referral_profile_flag
from triage_service.routing.working_time import due_at, is_clock_time, is_office_hours

VS_REQUESTED_SPECIALISM = f"{CANONICAL_BASE}/ValueSet/triage-requested-specialism"

_lock = threading.Lock()
#: Per database (two apps in one process, as in tests or a migration beside the service, must not share one):
#: (the agreements' version, the compiled table).
_cached: dict[URL, tuple[tuple[object, ...], RoutingTable]] = {}


#: The routing table's version: any import adds profiles or moves the last import time. Built once (issue 25).
_VERSION = select(func.count(PatientProfile.id), func.max(Agreement.imported_at)).select_from(Agreement) \
    .outerjoin(PatientProfile)


def routing_table(session: Session) -> RoutingTable:
    database = session.get_bind().engine.url  # hashable as it is: no string rendered per request
    version = tuple(session.execute(_VERSION).one())
    cached = _cached.get(database)
    if cached is not None and cached[0] == version:
        return cached[1]
    agreements = session.scalars(select(Agreement).options(selectinload(Agreement.profiles),
                                                           selectinload(Agreement.subcontractor))).all()
    table = RoutingTable(compile_profiles(agreements))
    with _lock:
        _cached[database] = (version, table)
    return table


def specialism_label(code: str, language: str = "en") -> str:
    return registry().concept_display(VS_REQUESTED_SPECIALISM, code, language) or f"specialism {code}"


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class RoutingOutcome:
    assignment: Assignment
    due: datetime
    flags: list[FiredFlag]
    #: The norm runs day and night (hours or minutes) and the request is urgent: it is called out
    #: (consults/callouts.py) until someone takes it.
    called_out: bool = False
    #: Who is alerted when the assignee does not take it: the rota's backup, or the next colleague.
    backup: Candidate | None = None


def match_or_explain(session: Session, request: RoutingRequest) -> tuple[MatchResult, FiredFlag | None]:
    """The matching profiles, or a 422 that tells the GP what did not fit.

    A meekijkconsult that no consult profile admits but a referral profile does is accepted,
    with a "likely referral" flag: the specialist can still advise, and the GP keeps the choice.
    """
    table = routing_table(session)
    result = table.match(request)
    if not result.matches and request.category == "meekijkconsult":
        as_referral = table.match(replace(request, category="referral"))
        if as_referral.matches:
            return as_referral, referral_profile_flag(as_referral.matches[0])
    if not result.matches:
        label = Localized({language: specialism_label(request.specialism, language) for language in LANGUAGES})
        issues = [issue("business-rule", text, "ServiceRequest") for text in result.explanation(label)]
        raise UnprocessableInput(issues[0].message, params=issues[0].params, issues=issues)
    return result, None


def route(session: Session, request: RoutingRequest, priority: str, now: datetime) -> RoutingOutcome:
    result, fallback_flag = match_or_explain(session, request)
    candidates = candidates_for(session, result.matches, now)
    assignment = choose(candidates, priority, request.performer_agb)
    if assignment is None:
        raise UnprocessableInput(N_("The matching agreement names no specialists who can answer; the zorggroep "
                                    "must complete the agreement"), expression="ServiceRequest")
    norms = assignment.chosen.profile.answer_norms
    # "Likely referral" flags tell the GP and the specialist that a meekijkconsult will probably end as a
    # referral; a referral sent for triage already is one, so they would say nothing.
    flags = [] if request.category == REFERRAL_CATEGORY else \
        ([fallback_flag] if fallback_flag else []) + fired_flags(assignment.chosen.profile, request)
    norm = norms[priority]
    if not (priority in URGENT_PRIORITIES and is_clock_time(norm)):
        return RoutingOutcome(assignment, due_at(now, norm), flags)
    assignment, backup = _urgent_assignment(session, assignment, candidates, now)
    return RoutingOutcome(assignment, due_at(now, norm), flags, called_out=True, backup=backup)


def _urgent_assignment(session: Session, assignment: Assignment, candidates: list[Candidate],
                       now: datetime) -> tuple[Assignment, Candidate | None]:
    """Outside office hours, the specialist on call (or the backup when they are absent); in office hours, the
    least-loaded one as usual, with the next available colleague as the backup."""
    chosen = assignment.chosen
    by_agb = {c.agb: c for c in candidates if c.kind == "practitioner"}

    def person(agb: str, name: str) -> Candidate:
        known = by_agb.get(agb)
        return known if known is not None else Candidate("practitioner", agb, name, chosen.profile, True, 0, 0,
                                                         NEVER)

    duty = None if is_office_hours(now) else on_call_at(session, chosen.profile.subcontractor_agb,
                                                        chosen.profile.specialism, now)
    if duty is not None:
        first, second = person(duty.agb, duty.name), person(duty.backup_agb, duty.backup_name)
        if not first.available and second.available:
            reason = (f"Outside office hours; {first.name} is on call but absent, so the backup {second.name} "
                      f"takes it (rota of {chosen.profile.subcontractor_name}).")
            return Assignment(second, candidates, reason), None
        if first.available:
            reason = (f"Outside office hours; {first.name} is on call now, {second.name} is the backup (rota of "
                      f"{chosen.profile.subcontractor_name}, agreement {chosen.profile.agreement_code}).")
            return Assignment(first, candidates, reason), second
    others = sorted((c for c in candidates if c.available and c.kind == "practitioner" and c.agb != chosen.agb),
                    key=lambda c: (c.urgent_open, c.open, c.agb))
    reason = assignment.reason if duty is not None or is_office_hours(now) else \
        assignment.reason + " No on-call rota covers this moment."
    return Assignment(chosen, candidates, reason), (others[0] if others else None)


def record_decision(session: Session, consult_id: str, outcome: RoutingOutcome, now: datetime,
                    reason_before: str = "") -> None:
    """Keep why the consult went where it went (``reason_before``: what the routing itself cannot know, such as
    who forwarded it and why). Inserted as a row of the table, not through the ORM's unit of work: the history
    of decisions is only appended to, and nothing reads it back in the transaction that writes it."""
    chosen = outcome.assignment.chosen
    insert_new(session, RoutingDecision, [{
        "consult_id": consult_id, "agreement_id": chosen.profile.agreement_id, "profile_id": chosen.profile.profile_id,
        "owner_kind": chosen.kind, "owner_agb": chosen.agb,
        "candidates": [c.as_record(c is chosen) for c in outcome.assignment.candidates],
        "reason": reason_before + outcome.assignment.reason, "decided_at": now}])
