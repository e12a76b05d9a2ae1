"""Back-referrals over FHIR (issue 23, point 2), for the GP system of the practice they are addressed to.

A back-referral is a ServiceRequest, a Task and Communications at the same paths as a consult's, with logical
ids that start with ``terugverwijzing-`` (fhir/back_referrals.py). Those are served here: each consult route
(api/resources.py, api/search.py, api/thread.py) hands a request that names such an id (or searches by the
back-referral category, the performer or the Task's code, or posts a Communication part of such a Task) to the
function here, under the same scopes. So a HIS needs no second base URL, and the consult's routes keep their own
rules. The routes hand over explicitly, after reading what they read anyway, rather than a hook peeking at every
request: the POST body is read once, by the route.

- ``GET ServiceRequest/terugverwijzing-{id}``, ``GET Task/terugverwijzing-{id}``,
  ``GET Communication/terugverwijzing-{id}``: reads, audited;
- ``GET ServiceRequest?category={triage-back-referral}|back-referral`` (or ``?performer=...``) and
  ``GET Task?code={triage-back-referral}|back-referral``: the practice's back-referrals, newest first, paged
  by ``_count`` and ``_offset`` as every search (api/search_params.py);
- ``PUT Task/terugverwijzing-{id}`` with status ``completed`` (or ``accepted``): the practice takes the care
  over ("overgenomen"); ``If-Match`` is honoured;
- ``POST Communication`` with ``partOf`` the Task: the practice asks the specialist a question (Task on-hold
  until the specialist answers in the inbox); ``GET Communication?part-of=Task/terugverwijzing-{id}`` gives
  the question and the specialist's answer.

Another practice's back-referral is a 404, as one that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from sqlalchemy import select

from triage_service.api.io import fhir_response, read_resource
from triage_service.api.search_params import (
    check_params,
    left_out_outcome,
    page_links,
    page_window,
    split_values,
    token_matches,
    wants_total,
)
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


def is_back_referral_id(rid: str) -> bool:
    """Whether a logical id in a consult route's URL names a back-referral's resource."""
    return rid.startswith(PREFIX)


def thread_ids() -> list[str]:
    """Our ids of the back-referrals (or their Tasks) a Communication search names in part-of or based-on."""
    values = [v for name in ("part-of", "based-on") for raw in request.args.getlist(name) for v in raw.split(",")]
    return [v.split("/")[-1].removeprefix(PREFIX) for v in values if v.split("/")[-1].startswith(PREFIX)]


def search_thread(own_ids: list[str]) -> Response:
    """The question and the answer of the practice's back-referral: how its HIS finds the specialist's answer."""
    require_scope("Communication", "search")
    count, offset = page_window()
    session = get_session()
    backs = session.scalars(select(BackReferral).where(
        (BackReferral.task_id.in_(own_ids)) | (BackReferral.id.in_(own_ids)),
        BackReferral.practice_id == _practice_id())).all()
    found = [(back, communication_to_fhir(back, message)) for back in backs for message in back.messages]
    page = found[offset:offset + count]
    _audit_search("Communication", [back for back, _ in page])
    return _bundle("Communication", [body for _, body in page], len(found), count, offset)


def asks_for_back_referrals(rtype: str) -> bool:
    """Whether a ServiceRequest or Task search asks for the practice's back-referrals.

    A Task search asks for them when every ``code`` parameter names the back-referral code (``back-referral``,
    ``{triage-back-referral}|back-referral``): values of one parameter are alternatives, repeated parameters
    all have to hold (http://hl7.org/fhir/R4/search.html#combining). So ``code=back-referral,urn:x|y`` gives the
    back-referrals (consult Tasks carry no code to match the other value), and ``code=back-referral&code=urn:x|y``
    is left to the consult search, where it matches nothing: no Task has both codes."""
    if rtype == "Task":
        codes = [values for raw in request.args.getlist("code") if (values := split_values(raw))]
        return bool(codes) and all(any(token_matches(v, CS_BACK_REFERRAL, "back-referral") for v in values)
                                   for values in codes)
    coded = any(value.split("|")[-1] == "back-referral" for raw in request.args.getlist("category")
                for value in raw.split(","))
    return coded or "performer" in request.args


def is_about_back_referral(resource: dict[str, Any]) -> bool:
    """Whether a posted Communication belongs to a back-referral (its partOf or basedOn names one)."""
    references = [r.get("reference", "") for key in ("partOf", "basedOn") for r in resource.get(key) or []
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


def read_service_request(rid: str) -> Response:
    require_scope("ServiceRequest", "read")
    back = _of_practice(rid.removeprefix(PREFIX))
    _audit_read(back, "ServiceRequest", service_request_id(back))
    return fhir_response(service_request_to_fhir(back, back_referrals.CARE_PROGRAMMES), 200, back.version_id)


def read_task(rid: str) -> Response:
    require_scope("Task", "read")
    back = _of_practice(rid.removeprefix(PREFIX), by_task=True)
    _audit_read(back, "Task", PREFIX + back.task_id)
    return fhir_response(task_to_fhir(back), 200, back.version_id)


def read_communication(rid: str) -> Response:
    require_scope("Communication", "read")
    own_id = rid.removeprefix(PREFIX)
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


def update_task(rid: str) -> Response:
    require_scope("Task", "update")
    own_id = rid.removeprefix(PREFIX)
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


def ask(resource: dict[str, Any]) -> Response:
    """The practice's question (``resource`` is the posted Communication, read and parsed by the route)."""
    require_scope("Communication", "create")
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


def search(rtype: str) -> Response:
    require_scope(rtype, "search")
    # The same refusal of unknown or unsupported parameters as every other search (api/search.py).
    check_params({"category", "performer", "status"} if rtype == "ServiceRequest" else {"code", "status"})
    count, offset = page_window()
    status = [v for raw in request.args.getlist("status") for v in raw.split(",")]
    found = [(b, service_request_to_fhir(b, back_referrals.CARE_PROGRAMMES) if rtype == "ServiceRequest"
              else task_to_fhir(b)) for b in back_referrals.of_practice(get_session(), _practice_id())]
    found = [(back, body) for back, body in found if not status or body["status"] in status]
    page = found[offset:offset + count]
    _audit_search(rtype, [back for back, _ in page])
    return _bundle(rtype, [body for _, body in page], len(found), count, offset)


def _audit_search(rtype: str, shown: list[BackReferral]) -> None:
    """The search, and a row per back-referral whose data the page shows (NEN 7513: per patient shown)."""
    session, now, actor = get_session(), clock(), request_actor()
    names = ",".join(sorted(set(request.args)))  # parameter names only: values may identify patients
    record(session, actor, event="fhir.search", action=AuditAction.EXECUTE, resource_type=rtype,
           detail=f"params={names}; returned={len(shown)}; back-referrals", at=now)
    for back in dict.fromkeys(shown):  # a back-referral's messages share its patient: one row for them
        record(session, actor, event="fhir.search.result", action=AuditAction.READ, resource_type=rtype,
               patient_ref=back.patient_ref, at=now)


def _bundle(rtype: str, page: list[dict[str, Any]], total: int, count: int, offset: int) -> Response:
    """The search's Bundle with the result parameters every search takes (api/search_params.py): _count and
    _offset (page_window) cut the list, with a next link when more follow; _summary=count answers the total
    alone, _total=none leaves it out; never an empty entry array."""
    stated = total if wants_total() else None
    self_url, next_url = page_links(rtype, count, offset, stated, len(page))
    return fhir_response(searchset(page, stated, self_url, next_url, base_url(), outcome=left_out_outcome()), 200)


#: The category a HIS searches by (documented in the CapabilityStatement).
CATEGORY_TOKEN = f"{CS_BACK_REFERRAL}|back-referral"
