"""FHIR REST interactions on consult requests, Tasks and supporting resources.

Views are thin (ARCHITECTURE.md, principle 3): parse, authorise, call a
service, render. Every query filters on the caller's organisation, so another
practice's resource is indistinguishable from one that does not exist (404).
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Blueprint, Response, request
from sqlalchemy import select

from triage_service.api import back_referrals
from triage_service.api.context_reads import context_response
from triage_service.api.io import fhir_response, read_json, read_resource, read_resource_for_update
from triage_service.api.media_types import accepts_fhir_json
from triage_service.api.preferences import preference
from triage_service.audit.trail import record
from triage_service.consults.intake import check_consult, submit_consult
from triage_service.consults.letters import current_letters
from triage_service.consults.tasks import update_task_by_gp
from triage_service.consults.transactions import process_transaction
from triage_service.database import get_session
from triage_service.errors import N_, DomainError, InvalidInput, NotAcceptable, NotFound
from triage_service.fhir.mapping import task_to_fhir
from triage_service.fhir.parsing import parse_resource
from triage_service.fhir.referral import REFERRAL_SUFFIX, referral_to_fhir
from triage_service.models import (
    Appointment,
    AuditAction,
    Consult,
    ConsultTask,
    Organisation,
    StoredResource,
    Subscription,
)
from triage_service.outcome import Issue, operation_outcome
from triage_service.records.resolution import Resolver
from triage_service.records.resources import create_resource
from triage_service.records.supporting import SUPPORTING_TYPES, parse_if_none_exist
from triage_service.request_context import base_url, clock, settings
from triage_service.security.policy import current_access, request_actor, require_scope

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
_M = TypeVar("_M", Consult, ConsultTask, Appointment, Subscription)
#: The FHIR resource type each owned model is served as.
_FHIR_TYPES: dict[type, str] = {Consult: "ServiceRequest", ConsultTask: "Task", Appointment: "Appointment",
                                Subscription: "Subscription"}


#: Media types (and _format values) a client may ask for: we answer FHIR JSON only.
_JSON_FORMATS = ("application/fhir+json", "application/json", "application/json+fhir", "json")


@bp.before_request
def _negotiate() -> None:
    """406 for a client that accepts only another format (http://hl7.org/fhir/R4/http.html#mime-type)."""
    if request.endpoint in ("fhir.read_binary", "fhir.create_binary") or (
            request.endpoint == "fhir.vread" and (request.view_args or {}).get("rtype") == "Binary"):
        return  # a Binary is served and accepted in its own media type
    if request.endpoint == "fhir.read_appointment" and request.accept_mimetypes.quality("text/calendar") > 0:
        return  # an Appointment may also be had as iCalendar (api/appointments.py)
    fmt = request.args.get("_format")
    if fmt is not None and fmt.split(";")[0].strip() not in _JSON_FORMATS:
        raise NotAcceptable(N_("This server answers FHIR JSON only: use _format=json or leave it out"))
    acceptable, other_version = accepts_fhir_json(request.accept_mimetypes)  # parameters read (api/media_types.py)
    if other_version is not None:
        raise NotAcceptable(N_("This server speaks FHIR 4.0 (R4), not fhirVersion=%(version)s"),
                            params={"version": other_version})
    if not acceptable:
        raise NotAcceptable(N_("This server answers FHIR JSON only: accept application/fhir+json"))


@bp.after_request
def _commit_on_success(response: Response) -> Response:
    # The one commit of a request (ARCHITECTURE.md, principle 4). Error responses are
    # rolled back by the session teardown; refusals audit themselves (api/errors.py).
    if response.status_code < 400:
        get_session().commit()
    return response


def caller_organisation() -> Organisation:
    org = get_session().get(Organisation, current_access().organisation_id)
    if org is None:
        raise NotFound(N_("The organisation this client is registered for no longer exists"))
    return org


def _if_none_exist() -> tuple[str, str] | None:
    header = request.headers.get("If-None-Exist")
    return parse_if_none_exist(header) if header else None


def _location(rtype: str, rid: str, version: int) -> str:
    return f"{base_url()}/{rtype}/{rid}/_history/{version}"


# -- consult requests ---------------------------------------------------------------------------

@bp.post("/ServiceRequest")
def create_service_request() -> Response:
    access = require_scope("ServiceRequest", "create")
    resource = read_resource("ServiceRequest")
    session, now = get_session(), clock()
    submission = submit_consult(session, request_actor(), caller_organisation(), access.client_pk, resource,
                                Resolver(session, access.organisation_id, resource), now, _if_none_exist(),
                                settings().max_attachments_per_consult)
    consult = submission.consult
    status, location = 201 if submission.created else 200, _location("ServiceRequest", consult.id, consult.version_id)
    if preference("return") == "operationoutcome":
        # http://hl7.org/fhir/R4/http.html#ops: the client asked for the outcome (with any warnings) instead.
        done = Issue("informational", N_("Created ServiceRequest/%(id)s and Task/%(id2)s"),
                     severity="information", params={"id": consult.id, "id2": submission.task.id})
        return fhir_response(operation_outcome([done, *submission.warnings]), status, consult.version_id, location)
    return fhir_response(consult.resource, status, consult.version_id, location)


@bp.post("/ServiceRequest/$validate")
def validate_service_request() -> Response:
    """Run every intake check and store nothing. Resource problems are reported in a 200
    OperationOutcome (http://hl7.org/fhir/R4/resource-operation-validate.html)."""
    access = require_scope("ServiceRequest", "create")
    data = read_json()
    if isinstance(data, dict) and data.get("resourceType") == "Parameters":
        params = [p for p in data.get("parameter", []) if isinstance(p, dict) and p.get("name") == "resource"]
        data = params[0].get("resource") if params else None
        if data is None:
            raise InvalidInput(N_("Parameters must contain a 'resource' parameter with the ServiceRequest"))
    result = parse_resource(data, "ServiceRequest")
    issues = list(result.issues)
    if not any(i.is_error for i in issues):
        session = get_session()
        try:
            # The create's own checks and warnings (consults/intake.check_consult), not a second copy of them.
            issues.extend(check_consult(session, caller_organisation(), data,
                                        Resolver(session, access.organisation_id, data), clock(),
                                        settings().max_attachments_per_consult))
        except DomainError as exc:
            issues.extend(exc.issues)
        session.rollback()  # $validate never stores anything
    return fhir_response(operation_outcome(issues), 200)


# -- transactions ---------------------------------------------------------------------------------

@bp.post("")
@bp.post("/")
def transaction() -> Response:
    # The scope first: a client that may not submit consults learns nothing from parsing its body.
    access = require_scope("ServiceRequest", "create")
    resource = read_resource("Bundle")
    for entry in resource.get("entry", []):
        rtype = entry.get("resource", {}).get("resourceType", "")
        if rtype in (*SUPPORTING_TYPES, "Binary", "DocumentReference"):
            require_scope(rtype, "create")
    session, now = get_session(), clock()
    base = base_url()
    results = process_transaction(session, request_actor(), caller_organisation(), access.client_pk, resource, now,
                                  settings())
    entries = [{
        "fullUrl": f"{base}/{r.resource_type}/{r.id}",
        "response": {"status": "201 Created" if r.created else "200 OK",
                     "location": f"{r.resource_type}/{r.id}/_history/{r.version}",
                     "etag": f'W/"{r.version}"',
                     **({"outcome": operation_outcome(list(r.warnings))} if r.warnings else {})},
    } for r in results]
    return fhir_response({"resourceType": "Bundle", "type": "transaction-response", "entry": entries}, 200)


# -- supporting resources ---------------------------------------------------------------------------

@bp.post("/<any(Patient, Organization, PractitionerRole, Coverage):rtype>")
def create_supporting(rtype: str) -> Response:
    require_scope(rtype, "create")
    resource = read_resource(rtype)
    access_org = caller_organisation()
    created = create_resource(get_session(), request_actor(), access_org.id, resource, clock(), _if_none_exist())
    stored = created.stored
    return fhir_response(stored.resource, 201 if created.created else 200, stored.version_id,
                         _location(rtype, stored.id, stored.version_id))


@bp.get("/<any(Patient, Organization, PractitionerRole, Coverage, DocumentReference):rtype>/<rid>")
def read_supporting(rtype: str, rid: str) -> Response:
    access = require_scope(rtype, "read")
    session = get_session()
    stored = session.scalar(select(StoredResource).where(
        StoredResource.id == rid, StoredResource.resource_type == rtype,
        StoredResource.organisation_id == access.organisation_id))
    if stored is None and rtype == "DocumentReference":  # a medication list sent with a consult
        return context_response(rtype, rid, access.organisation_id)
    if stored is None:
        raise NotFound(N_("%(rtype)s/%(rid)s is not known to this client's organisation"),
                       params={"rtype": rtype, "rid": rid})
    record(session, request_actor(), event="fhir.read", action=AuditAction.READ, resource_type=rtype,
           resource_id=rid, patient_ref=stored.patient_ref, at=clock())
    return fhir_response(stored.resource, 200, stored.version_id)


# -- reads and updates ----------------------------------------------------------------------------

def owned(model: type[_M], rid: str, organisation_id: str) -> _M:
    """A resource of the caller's organisation; another's is indistinguishable from none ("not found")."""
    found = get_session().scalar(select(model).where(model.id == rid, model.organisation_id == organisation_id))
    if found is None:
        raise NotFound(N_("%(rtype)s/%(rid)s is not known to this client's organisation"),
                       params={"rtype": _FHIR_TYPES[model], "rid": rid})
    return found


@bp.get("/ServiceRequest/<rid>")
def read_service_request(rid: str) -> Response:
    if back_referrals.is_back_referral_id(rid):
        return back_referrals.read_service_request(rid)
    access = require_scope("ServiceRequest", "read")
    if rid.endswith(REFERRAL_SUFFIX):
        return _read_referral(rid.removesuffix(REFERRAL_SUFFIX), access.organisation_id)
    consult = owned(Consult, rid, access.organisation_id)
    record(get_session(), request_actor(), event="fhir.read", action=AuditAction.READ,
           resource_type="ServiceRequest", resource_id=rid, patient_ref=consult.patient_resource_id, at=clock())
    return fhir_response(consult.resource, 200, consult.version_id)


def _read_referral(consult_id: str, organisation_id: str) -> Response:
    consult = owned(Consult, consult_id, organisation_id)
    body = referral_to_fhir(consult)
    if body is None:
        raise NotFound(N_("ServiceRequest/%(consult_id)s%(suffix)s does not exist: the consult did not "
                          "become a referral (a referral accepted at triage is ServiceRequest/%(consult_id)s "
                          "itself)"), params={"consult_id": consult_id, "suffix": REFERRAL_SUFFIX})
    record(get_session(), request_actor(), event="fhir.read", action=AuditAction.READ, resource_type="ServiceRequest",
           resource_id=body["id"], patient_ref=consult.patient_resource_id, at=clock())
    return fhir_response(body, 200, 1)


@bp.get("/Task/<rid>")
def read_task(rid: str) -> Response:
    if back_referrals.is_back_referral_id(rid):
        return back_referrals.read_task(rid)
    access = require_scope("Task", "read")
    task = owned(ConsultTask, rid, access.organisation_id)
    record(get_session(), request_actor(), event="fhir.read", action=AuditAction.READ, resource_type="Task",
           resource_id=rid, patient_ref=task.consult.patient_resource_id, at=clock())
    return fhir_response(task_fhir(task), 200, task.version_id)


@bp.put("/Task/<rid>")
def update_task(rid: str) -> Response:
    if back_referrals.is_back_referral_id(rid):
        return back_referrals.update_task(rid)
    access = require_scope("Task", "update")
    submitted = read_resource_for_update("Task", rid)
    task = owned(ConsultTask, rid, access.organisation_id)
    update_task_by_gp(get_session(), request_actor(), task, submitted, request.headers.get("If-Match"), clock())
    return fhir_response(task_fhir(task), 200, task.version_id)


def task_fhir(task: ConsultTask) -> dict[str, Any]:
    """The Task with its consult's current letter in Task.output."""
    return task_to_fhir(task, current_letters(get_session(), [task.consult]).get(task.consult_id))

