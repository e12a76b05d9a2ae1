"""The consult thread over FHIR: Communication read, search and (for the GP's answers) create."""

from __future__ import annotations

from flask import Response, request
from sqlalchemy import ColumnElement, func, select

from triage_service.api import back_referrals
from triage_service.api.io import fhir_response, read_resource
from triage_service.api.resources import bp, caller_organisation
from triage_service.api.search_params import (
    check_params,
    date_clause,
    page_of,
    reference_id,
    search_bundle,
    split_token,
    split_values,
)
from triage_service.audit.trail import record
from triage_service.consults.thread import post_gp_message
from triage_service.database import get_session
from triage_service.errors import N_, NotFound
from triage_service.fhir.mapping import message_to_fhir
from triage_service.models import AuditAction, Consult, ConsultMessage, ConsultTask
from triage_service.request_context import base_url, clock, settings
from triage_service.security.policy import request_actor, require_scope


def _task_id(consult_id: str) -> str:
    task_id = get_session().scalar(select(ConsultTask.id).where(ConsultTask.consult_id == consult_id))
    return str(task_id)


@bp.post("/Communication")
def create_communication() -> Response:
    require_scope("Communication", "create")
    resource = read_resource("Communication")
    if back_referrals.is_about_back_referral(resource):
        return back_referrals.ask(resource)
    message = post_gp_message(get_session(), request_actor(), caller_organisation(), resource, clock(),
                              settings().max_attachments_per_consult)
    body = message_to_fhir(message, _task_id(message.consult_id))
    return fhir_response(body, 201, 1, f"{base_url()}/Communication/{message.id}/_history/1")


@bp.get("/Communication/<rid>")
def read_communication(rid: str) -> Response:
    if back_referrals.is_back_referral_id(rid):
        return back_referrals.read_communication(rid)
    access = require_scope("Communication", "read")
    session = get_session()
    row = session.execute(select(ConsultMessage, Consult.patient_resource_id).join(Consult).where(
        ConsultMessage.id == rid, Consult.organisation_id == access.organisation_id)).first()
    if row is None:
        raise NotFound(N_("Communication/%(rid)s is not known to this client's organisation"), params={"rid": rid})
    message, patient = row
    record(session, request_actor(), event="fhir.read", action=AuditAction.READ, resource_type="Communication",
           resource_id=rid, patient_ref=patient, at=clock())
    return fhir_response(message_to_fhir(message, _task_id(message.consult_id)), 200, 1)


@bp.get("/Communication")
def search_communications() -> Response:
    if back_referrals.thread_ids():
        return back_referrals.search_thread(back_referrals.thread_ids())
    access = require_scope("Communication", "search")
    check_params({"based-on", "part-of", "category", "sent"})
    where: list[ColumnElement[bool]] = [Consult.organisation_id == access.organisation_id]
    args = request.args
    for raw in args.getlist("based-on"):
        where.append(ConsultMessage.consult_id.in_([reference_id(v, "ServiceRequest") for v in split_values(raw)]))
    for raw in args.getlist("part-of"):
        where.append(ConsultTask.id.in_([reference_id(v, "Task") for v in split_values(raw)]))
    for raw in args.getlist("category"):
        where.append(ConsultMessage.category.in_([split_token(v)[1] for v in split_values(raw)]))
    for raw in args.getlist("sent"):
        where.append(date_clause(ConsultMessage.sent_at, raw, "sent"))
    base = (select(ConsultMessage).join(Consult, Consult.id == ConsultMessage.consult_id)
            .join(ConsultTask, ConsultTask.consult_id == Consult.id))
    query = base.where(*where).order_by(ConsultMessage.sent_at, ConsultMessage.id)
    count = select(func.count()).select_from(base.where(*where).subquery())
    rows, total, page_size, offset = page_of(query, count)
    consult_ids = {m.consult_id for m in rows}
    tasks = {c: t for c, t in get_session().execute(
        select(ConsultTask.consult_id, ConsultTask.id).where(ConsultTask.consult_id.in_(consult_ids)))}
    patients = {c: p for c, p in get_session().execute(
        select(Consult.id, Consult.patient_resource_id).where(Consult.id.in_(consult_ids)))}
    return search_bundle("Communication", [message_to_fhir(m, tasks[m.consult_id]) for m in rows],
                         [patients[m.consult_id] for m in rows], total, page_size, offset)
