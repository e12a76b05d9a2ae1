"""FHIR search on Task and ServiceRequest, with Bundle paging (http://hl7.org/fhir/R4/search.html).

Unknown parameters are refused (400) instead of silently ignored: a GP system
that misspells ``focus`` would otherwise get every Task of its practice back.
Values that identify patients (a BSN) are deliberately not searchable: they
would end up in URLs and logs.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import selectinload

from triage_service.api import back_referrals
from triage_service.api.ids import is_fhir_id
from triage_service.api.resources import bp
from triage_service.api.search_params import (
    check_params,
    date_clause,
    page_of,
    reference_id,
    search_bundle,
    split_token,
    split_values,
)
from triage_service.consults.letters import current_letters
from triage_service.database import get_session
from triage_service.errors import N_, InvalidInput
from triage_service.fhir.dutch import AGB
from triage_service.fhir.mapping import flag_notes_of, task_to_fhir
from triage_service.models import Consult, ConsultIdentifier, ConsultTask
from triage_service.security.policy import require_scope

_ = Blueprint  # the routes below hang on the FHIR blueprint


def _agb_codes(raw: str, parameter: str) -> list[str]:
    """Practitioners and groups are searched by AGB code: ``<code>`` or ``{AGB system}|<code>``."""
    codes = []
    for value in split_values(raw):
        system, code = split_token(value)
        if system not in (None, AGB):
            raise InvalidInput(N_("%(parameter)s is searched by AGB code (%(agb)s|<code>)"), expression=parameter,
                               params={"parameter": parameter, "agb": AGB})
        codes.append(code)
    return codes


def _patient_id(value: str) -> str:
    """``Patient/{id}`` or a bare id; a reference to another type can name no Task's patient."""
    rtype, _, rid = value.rpartition("/")
    if rtype not in ("", "Patient") or not is_fhir_id(rid):
        raise InvalidInput(N_("patient is searched by a Patient reference (Patient/<id>)"), expression="patient")
    return rid


@bp.get("/Task")
def search_tasks() -> Response:
    if back_referrals.asks_for_back_referrals("Task"):
        return back_referrals.search("Task")
    access = require_scope("Task", "search")
    check_params({"status", "business-status", "requester", "requester:identifier", "owner", "owner:identifier",
                   "focus", "patient", "code", "_lastUpdated"})
    where: list[ColumnElement[bool]] = [ConsultTask.organisation_id == access.organisation_id]
    args = request.args
    for raw in args.getlist("status"):
        where.append(ConsultTask.status.in_(split_values(raw)))
    for raw in args.getlist("business-status"):
        where.append(ConsultTask.business_status.in_([split_token(v)[1] for v in split_values(raw)]))
    for raw in args.getlist("focus"):
        where.append(ConsultTask.consult_id.in_([reference_id(v, "ServiceRequest") for v in split_values(raw)]))
    for raw in args.getlist("patient"):
        # The consults of these patients first (their index), then their Tasks: a practice holds thousands of
        # Tasks, a patient a few.
        patients = [_patient_id(v) for v in split_values(raw)]
        where.append(ConsultTask.consult_id.in_(select(Consult.id).where(Consult.patient_resource_id.in_(patients))))
    for raw in args.getlist("owner:identifier") + args.getlist("owner"):
        where.append(ConsultTask.owner_agb.in_(_agb_codes(raw, "owner")))
    for raw in args.getlist("requester:identifier") + args.getlist("requester"):
        where.append(ConsultTask.consult.has(Consult.requester_agb.in_(_agb_codes(raw, "requester"))))
    for raw in args.getlist("_lastUpdated"):
        where.append(date_clause(ConsultTask.updated_at, raw))
    if any(split_values(raw) for raw in args.getlist("code")):
        # A consult Task carries no code (fhir/mapping.py task_to_fhir), so no code matches one; a search for
        # the back-referral code alone went to back_referrals above. An empty value is ignored, as FHIR says.
        where.append(false())
    # The page's consults, letters and flags in a query each, not one per Task (N+1).
    query = (select(ConsultTask).options(selectinload(ConsultTask.consult)).where(*where)
             .order_by(ConsultTask.updated_at.desc(), ConsultTask.id))
    rows, total, count, offset = page_of(query, select(func.count()).select_from(ConsultTask).where(*where))
    letters = current_letters(get_session(), [t.consult for t in rows])
    flags = flag_notes_of(get_session(), rows)
    return search_bundle("Task", [task_to_fhir(t, letters.get(t.consult_id), flags.get(t.id, [])) for t in rows],
                         [t.consult.patient_resource_id for t in rows], total, count, offset)


@bp.get("/ServiceRequest")
def search_service_requests() -> Response:
    if back_referrals.asks_for_back_referrals("ServiceRequest"):
        return back_referrals.search("ServiceRequest")
    access = require_scope("ServiceRequest", "search")
    check_params({"identifier", "patient", "status"})
    where: list[ColumnElement[bool]] = [Consult.organisation_id == access.organisation_id]
    for raw in request.args.getlist("status"):
        where.append(Consult.status.in_(split_values(raw)))
    for raw in request.args.getlist("patient"):
        where.append(Consult.patient_resource_id.in_([_patient_id(v) for v in split_values(raw)]))
    for raw in request.args.getlist("identifier"):
        options = []
        for value in split_values(raw):
            system, code = split_token(value)
            options.append(ConsultIdentifier.value == code if system is None else
                           (ConsultIdentifier.system == system) & (ConsultIdentifier.value == code))
        if options:  # an empty value is ignored, as FHIR search says for empty parameters
            where.append(Consult.identifiers.any(or_(*options)))
    query = select(Consult).where(*where).order_by(Consult.updated_at.desc(), Consult.id)
    rows, total, count, offset = page_of(query, select(func.count()).select_from(Consult).where(*where))
    return search_bundle("ServiceRequest", [c.resource for c in rows], [c.patient_resource_id for c in rows],
                         total, count, offset)
