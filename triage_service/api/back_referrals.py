"""Back-referrals over FHIR (issue 23, point 2), for the GP system of the practice they are addressed to.

A back-referral is a ServiceRequest, a Task and Communications at the same paths as a consult's, with logical
ids that start with ``terugverwijzing-`` (fhir/back_referrals.py). Those are served here: a request on one of
the consult routes that names such an id (or searches by the back-referral category, the performer or the
Task's code) is answered by this module before the consult's view runs, under the same scopes. So a HIS needs
no second base URL, and the consult's routes keep their own rules.

- ``GET ServiceRequest/terugverwijzing-{id}``, ``GET Task/terugverwijzing-{id}``,
  ``GET Communication/terugverwijzing-{id}``: reads, audited;
- ``GET ServiceRequest?category={triage-back-referral}|back-referral`` (or ``?performer=...``) and
  ``GET Task?code={triage-back-referral}|back-referral``: the practice's back-referrals, newest first;
- ``PUT Task/terugverwijzing-{id}`` with status ``completed`` (or ``accepted``): the practice takes the care
  over ("overgenomen"); ``If-Match`` is honoured;
- ``POST Communication`` with ``partOf`` the Task: the practice asks the specialist a question (Task on-hold
  until the specialist answers in the inbox); ``GET Communication?part-of=Task/terugverwijzing-{id}`` gives
  the question and the specialist's answer.

Another practice's back-referral is a 404, as one that does not exist.
"""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Response, request
from sqlalchemy import select

from triage_service.api.io import fhir_response, read_body, read_resource
from triage_service.api.resources import bp
from triage_service.api.search import check_params, check_result_parameters, left_out_outcome
from triage_service.audit.trail import record
from triage_service.consults import back_referrals
from triage_service.database import get_session
from triage_service.errors import N_, InvalidInput, NotFound, PreconditionFailed, UnprocessableInput
from triage_service.fhir.back_referrals import (
    CS_BACK_REFERRAL,
    PREFIX,
    communication_to_fhir,
    service_request_id,
    service_request_to_fhir,
    task_to_fhir,
)
from triage_service.fhir.mapping import etag, searchset
from triage_service.models import AuditAction, BackReferral, BackReferralMessage, Organisation
from triage_service.request_context import base_url, clock
from triage_service.security.policy import current_access, request_actor, require_scope

_SEARCHES = ("fhir.search_service_requests", "fhir.search_tasks")
#: A question is text: a Communication about a back-referral is never near the request limit.
_PEEK_LIMIT = 1_000_000


@bp.before_request
def _back_referral_routes() -> Response | None:
    """Answer the requests about back-referrals; None lets the consult's view answer the rest."""
    args = request.view_args or {}
    rid = str(args.get("rid", ""))
    endpoint = request.endpoint or ""
    if rid.startswith(PREFIX):
        own_id = rid.removeprefix(PREFIX)
        if endpoint == "fhir.read_service_request":
            return _read_service_request(own_id)
        if endpoint == "fhir.read_task":
            return _read_task(own_id)
        if endpoint == "fhir.update_task":
            return _update_task(rid, own_id)
        if endpoint == "fhir.read_communication":
            return _read_communication(own_id)
    if endpoint in _SEARCHES and _asks_for_back_referrals(endpoint):
        return _search("ServiceRequest" if endpoint == "fhir.search_service_requests" else "Task")
    if endpoint == "fhir.create_communication" and _is_about_back_referral():
        return _ask()
    if endpoint == "fhir.search_communications" and _thread_ids():
        return _search_thread(_thread_ids())
    return None


def _thread_ids() -> list[str]:
    """Our ids of the back-referrals (or their Tasks) a Communication search names in part-of or based-on."""
    values = [v for name in ("part-of", "based-on") for raw in request.args.getlist(name) for v in raw.split(",")]
    return [v.split("/")[-1].removeprefix(PREFIX) for v in values if v.split("/")[-1].startswith(PREFIX)]


def _search_thread(own_ids: list[str]) -> Response:
    """The question and the answer of the practice's back-referral: how its HIS finds the specialist's answer."""
    require_scope("Communication", "search")
    session = get_session()
    backs = session.scalars(select(BackReferral).where(
        (BackReferral.task_id.in_(own_ids)) | (BackReferral.id.in_(own_ids)),
        BackReferral.practice_id == _practice_id())).all()
    bodies = [communication_to_fhir(back, message) for back in backs for message in back.messages]
    now, actor = clock(), request_actor()
    record(session, actor, event="fhir.search", action=AuditAction.EXECUTE, resource_type="Communication",
           detail=f"params={','.join(sorted(set(request.args)))}; returned={len(bodies)}; back-referrals", at=now)
    for back in backs:
        if back.messages:
            record(session, actor, event="fhir.search.result", action=AuditAction.READ,
                   resource_type="Communication", patient_ref=back.patient_ref, at=now)
    return _bundle("Communication", bodies)


def _asks_for_back_referrals(endpoint: str) -> bool:
    name = "category" if endpoint == "fhir.search_service_requests" else "code"
    coded = any(value.split("|")[-1] == "back-referral" for raw in request.args.getlist(name)
                for value in raw.split(","))
    return coded or (endpoint == "fhir.search_service_requests" and "performer" in request.args)


def _is_about_back_referral() -> bool:
    """Whether the posted Communication belongs to a back-referral. The body is read here and put back as it
    came, so the consult's view (which reads and checks it itself) sees it unchanged."""
    if request.content_length is not None and request.content_length > _PEEK_LIMIT:
        return False  # the consult's view refuses it as too large
    raw = read_body(_PEEK_LIMIT, N_("The body is larger than the limit of %(limit)s bytes"))
    request.environ["wsgi.input"], request.environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
    request.__dict__.pop("stream", None)  # Werkzeug caches the stream it read: read the restored one next
    try:
        data = json.loads(raw)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    references = [r.get("reference", "") for key in ("partOf", "basedOn") for r in data.get(key) or []
                  if isinstance(r, dict)]
    return any(isinstance(r, str) and r.split("/")[-1].startswith(PREFIX) for r in references)


def _practice_id() -> str:
    return current_access().organisation_id


def _of_practice(own_id: str, by_task: bool = False) -> BackReferral:
    column = BackReferral.task_id if by_task else BackReferral.id
    found = get_session().scalar(select(BackReferral).where(column == own_id,
                                                            BackReferral.practice_id == _practice_id()))
    if found is None:
        raise NotFound(N_("%(rtype)s/%(rid)s is not known to this client's organisation"),
                       params={"rtype": "Task" if by_task else "ServiceRequest", "rid": PREFIX + own_id})
    return found


def _audit_read(back: BackReferral, rtype: str, rid: str) -> None:
    record(get_session(), request_actor(), event="fhir.read", action=AuditAction.READ, resource_type=rtype,
           resource_id=rid, patient_ref=back.patient_ref, at=clock())


def _read_service_request(own_id: str) -> Response:
    require_scope("ServiceRequest", "read")
    back = _of_practice(own_id)
    _audit_read(back, "ServiceRequest", service_request_id(back))
    return fhir_response(service_request_to_fhir(back, back_referrals.CARE_PROGRAMMES), 200, back.version_id)


def _read_task(own_id: str) -> Response:
    require_scope("Task", "read")
    back = _of_practice(own_id, by_task=True)
    _audit_read(back, "Task", PREFIX + back.task_id)
    return fhir_response(task_to_fhir(back), 200, back.version_id)


def _read_communication(own_id: str) -> Response:
    require_scope("Communication", "read")
    session = get_session()
    message = session.scalar(select(BackReferralMessage).join(BackReferral).where(
        BackReferralMessage.id == own_id, BackReferral.practice_id == _practice_id()))
    if message is None:
        raise NotFound(N_("Communication/%(rid)s is not known to this client's organisation"),
                       params={"rid": PREFIX + own_id})
    back = session.get(BackReferral, message.back_referral_id)
    assert back is not None
    _audit_read(back, "Communication", PREFIX + own_id)
    return fhir_response(communication_to_fhir(back, message), 200, 1)


def _update_task(rid: str, own_id: str) -> Response:
    require_scope("Task", "update")
    submitted = read_resource("Task")
    if submitted.get("id") != rid:
        raise InvalidInput(N_("The %(type)s's id must equal the id in the URL"), expression="Task.id",
                           params={"type": "Task"})
    back = _of_practice(own_id, by_task=True)
    match = request.headers.get("If-Match")
    if match is not None and match.strip() != etag(back.version_id):
        raise PreconditionFailed(N_("The Task has changed since you read it (version %(version)s): read it again"),
                                 params={"version": back.version_id})
    if submitted.get("status") not in ("accepted", "completed"):
        raise UnprocessableInput(N_("A practice takes a back-referral over by setting the Task's status to "
                                    "completed; ask a question with a Communication instead"),
                                 expression="Task.status")
    organisation = get_session().get(Organisation, _practice_id())
    back_referrals.accept(get_session(), back, organisation.name if organisation else "", request_actor(), clock())
    return fhir_response(task_to_fhir(back), 200, back.version_id)


def _ask() -> Response:
    require_scope("Communication", "create")
    resource = read_resource("Communication")
    references = [r.get("reference", "") for r in resource.get("partOf", []) + resource.get("basedOn", [])]
    own_ids = [r.split("/")[-1].removeprefix(PREFIX) for r in references if r.split("/")[-1].startswith(PREFIX)]
    session = get_session()
    back = session.scalar(select(BackReferral).where(
        (BackReferral.task_id.in_(own_ids)) | (BackReferral.id.in_(own_ids)),
        BackReferral.practice_id == _practice_id()))
    if back is None:
        raise NotFound(N_("%(rtype)s/%(rid)s is not known to this client's organisation"),
                       params={"rtype": "Task", "rid": references[0] if references else ""})
    text = " ".join(p.get("contentString", "") for p in resource.get("payload", []) if isinstance(p, dict)).strip()
    sender = (resource.get("sender") or {}).get("display") or (back.practice.name if back.practice else "")
    message = back_referrals.ask(session, back, str(sender), text, request_actor(), clock())
    session.flush()
    body = communication_to_fhir(back, message)
    return fhir_response(body, 201, 1, f"{base_url()}/Communication/{body['id']}/_history/1")


def _search(rtype: str) -> Response:
    require_scope(rtype, "search")
    # The same refusal of unknown or unsupported parameters as every other search (api/search.py).
    check_params({"category", "performer", "status"} if rtype == "ServiceRequest" else {"code", "status"})
    check_result_parameters()
    session = get_session()
    rows = back_referrals.of_practice(session, _practice_id())
    status = [v for raw in request.args.getlist("status") for v in raw.split(",")]
    bodies: list[dict[str, Any]] = [
        service_request_to_fhir(b, back_referrals.CARE_PROGRAMMES) if rtype == "ServiceRequest" else task_to_fhir(b)
        for b in rows]
    if status:
        bodies = [b for b in bodies if b["status"] in status]
    names = ",".join(sorted(set(request.args)))  # parameter names only: values may identify patients
    now, actor = clock(), request_actor()
    record(session, actor, event="fhir.search", action=AuditAction.EXECUTE, resource_type=rtype,
           detail=f"params={names}; returned={len(bodies)}; back-referrals", at=now)
    shown = {b["id"] for b in bodies}
    for back in rows:
        if (service_request_id(back) if rtype == "ServiceRequest" else PREFIX + back.task_id) in shown:
            record(session, actor, event="fhir.search.result", action=AuditAction.READ, resource_type=rtype,
                   patient_ref=back.patient_ref, at=now)
    return _bundle(rtype, bodies)


def _bundle(rtype: str, bodies: list[dict[str, Any]]) -> Response:
    """The search's Bundle with the result parameters every search takes (api/search.py): _summary=count
    answers the total alone, _total=none leaves it out; never an empty entry array. A practice holds few
    back-referrals, so they come in one page."""
    summary = request.args.get("_summary")
    shown = [] if summary == "count" else bodies
    total = None if request.args.get("_total") == "none" and summary != "count" else len(bodies)
    return fhir_response(searchset(shown, total, request.url, None, base_url(), outcome=left_out_outcome()), 200)


#: The category a HIS searches by (documented in the CapabilityStatement).
CATEGORY_TOKEN = f"{CS_BACK_REFERRAL}|back-referral"
