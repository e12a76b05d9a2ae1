"""The GP's verdict on the advice over FHIR: a GP system answers the published Questionnaire
``triage-advice-verdict`` with a QuestionnaireResponse (fhir/verdict.py), and reads its verdicts back.

The rule (own practice, answered with advice, once, all three answers) is consults/verdicts.py's, the same the
portal's form goes through. Every query filters on the caller's organisation: another practice's consult or
verdict is "not found" (404), as for every other resource of this API.
"""

from __future__ import annotations

from flask import Response, request
from sqlalchemy import ColumnElement, func, select

from triage_service.api.io import fhir_response, read_resource
from triage_service.api.resources import bp
from triage_service.api.search_params import check_params, page_of, reference_id, search_bundle, split_values
from triage_service.audit.trail import record
from triage_service.consults.verdicts import give_verdict
from triage_service.database import get_session
from triage_service.errors import N_, FormErrors, NotFound, UnprocessableInput
from triage_service.fhir.verdict import read_verdict_response, verdict_to_fhir
from triage_service.models import AuditAction, Consult, GpVerdict
from triage_service.outcome import Issue
from triage_service.request_context import base_url, clock
from triage_service.security.policy import request_actor, require_scope

_REFUSED = N_("The QuestionnaireResponse does not answer the verdict questionnaire as it asks")


def _fhir(verdict: GpVerdict) -> dict[str, object]:
    return verdict_to_fhir(verdict.id, verdict.consult_id, verdict.useful, verdict.without_advice,
                           verdict.referral_still_needed, verdict.answered_at)


@bp.post("/QuestionnaireResponse")
def create_questionnaire_response() -> Response:
    access = require_scope("QuestionnaireResponse", "create")
    response = read_verdict_response(read_resource("QuestionnaireResponse"))
    if response.issues:
        raise UnprocessableInput(_REFUSED, issues=response.issues)
    assert response.consult_id is not None  # read_verdict_response says so when it is missing
    try:
        verdict = give_verdict(get_session(), request_actor(), access.organisation_id, response.consult_id,
                               response.answers, source="fhir", answered_by=access.client_id, now=clock(),
                               expression="QuestionnaireResponse.basedOn[0]")
    except FormErrors as refused:
        # The domain names the missing or wrong answers by linkId; the OperationOutcome points at their items.
        raise UnprocessableInput(_REFUSED, issues=[
            Issue("required", message, response.expression(link_id)) for link_id, message in refused.errors.items()
        ]) from refused
    return fhir_response(_fhir(verdict), 201, 1, f"{base_url()}/QuestionnaireResponse/{verdict.id}/_history/1")


@bp.get("/QuestionnaireResponse/<rid>")
def read_questionnaire_response(rid: str) -> Response:
    access = require_scope("QuestionnaireResponse", "read")
    session = get_session()
    row = session.execute(select(GpVerdict, Consult.patient_resource_id).join(Consult).where(
        GpVerdict.id == rid, Consult.organisation_id == access.organisation_id)).first()
    if row is None:
        raise NotFound(N_("QuestionnaireResponse/%(rid)s is not known to this client's organisation"),
                       params={"rid": rid})
    verdict, patient = row
    record(session, request_actor(), event="fhir.read", action=AuditAction.READ,
           resource_type="QuestionnaireResponse", resource_id=rid, patient_ref=patient, at=clock())
    return fhir_response(_fhir(verdict), 200, 1)


@bp.get("/QuestionnaireResponse")
def search_questionnaire_responses() -> Response:
    access = require_scope("QuestionnaireResponse", "search")
    check_params({"based-on"})
    where: list[ColumnElement[bool]] = [Consult.organisation_id == access.organisation_id]
    for raw in request.args.getlist("based-on"):
        where.append(GpVerdict.consult_id.in_([reference_id(v, "ServiceRequest") for v in split_values(raw)]))
    base = select(GpVerdict).join(Consult, Consult.id == GpVerdict.consult_id).where(*where)
    rows, total, page_size, offset = page_of(base.order_by(GpVerdict.answered_at, GpVerdict.id),
                                             select(func.count()).select_from(base.subquery()))
    patients = {c: p for c, p in get_session().execute(select(Consult.id, Consult.patient_resource_id).where(
        Consult.id.in_({v.consult_id for v in rows})))}
    return search_bundle("QuestionnaireResponse", [_fhir(v) for v in rows],
                         [patients.get(v.consult_id) for v in rows], total, page_size, offset)
