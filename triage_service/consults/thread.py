"""The GP's side of the thread over FHIR: answering the specialist's question, acknowledging the advice.

Rules from FHIR.md and issue 6: a message belongs to an open consult of the GP's
own practice; an answer must answer a question that exists in that consult; the
answer takes the Task from on-hold back to in-progress. The GP stays
hoofdbehandelaar: acknowledging the advice records receipt, nothing more.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.attachments.documents import create_document_reference
from triage_service.audit.trail import Actor, record
from triage_service.consults.task_states import transition
from triage_service.errors import N_, Conflict, NotFound, UnprocessableInput
from triage_service.fhir import dutch
from triage_service.fhir.profiles import PROFILE_CONSULT_MESSAGE, PROFILE_CONSULT_PHOTO, registry
from triage_service.models import (
    AuditAction,
    Consult,
    ConsultMessage,
    ConsultTask,
    MessageCategory,
    Organisation,
    StoredResource,
    TaskStatus,
)
from triage_service.outcome import Issue
from triage_service.records.patient_links import link_documents
from triage_service.settings import Settings

_GP_CATEGORIES = (MessageCategory.INFORMATION_PROVIDED, MessageCategory.GENERAL)


def _ref_id(reference: Any, rtype: str) -> str | None:
    ref = reference.get("reference", "") if isinstance(reference, dict) else ""
    return ref.removeprefix(f"{rtype}/") if ref.startswith(f"{rtype}/") else None


def post_gp_message(session: Session, actor: Actor, organisation: Organisation, resource: dict[str, Any],
                    now: datetime, max_attachments: int = 10) -> ConsultMessage:
    issues = [i for i in registry().validate(resource, PROFILE_CONSULT_MESSAGE) if i.is_error]
    if issues:
        raise UnprocessableInput(N_("The Communication does not meet the consult-message profile"), issues=issues)
    consult_id = _ref_id(resource["basedOn"][0], "ServiceRequest")
    consult = session.scalar(select(Consult).where(Consult.id == consult_id,
                                                   Consult.organisation_id == organisation.id)) if consult_id else None
    if consult is None:
        raise NotFound(N_("basedOn must reference a consult (ServiceRequest) of this client's practice"),
                       expression="Communication.basedOn[0]")
    task: ConsultTask = consult.task
    if _ref_id(resource["partOf"][0], "Task") != task.id:
        raise UnprocessableInput(N_("partOf must reference the Task of that consult"),
                                 expression="Communication.partOf[0]")
    category = MessageCategory(resource["category"][0]["coding"][0]["code"])
    if category not in _GP_CATEGORIES:
        raise UnprocessableInput(N_("A GP system sends information-provided (an answer) or general messages"),
                                 expression="Communication.category[0]")
    if task.status not in (TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.ON_HOLD):
        raise Conflict(N_("The consult is %(value)s: no more messages can be added"),
                       expression="Communication.basedOn[0]", params={"value": task.status.value})
    question = _question(session, consult, resource, category)
    texts = [p["contentString"] for p in resource["payload"] if isinstance(p.get("contentString"), str)]
    documents = _documents(session, consult, resource, max_attachments)
    if not documents and (not texts or not "".join(texts).strip()):
        raise UnprocessableInput(N_("The message needs text in payload.contentString"),
                                 issues=[Issue("required", N_("The message needs text in payload.contentString"),
                                               "Communication.payload")])
    sender = resource.get("sender", {})
    identifier = sender.get("identifier", {}) if isinstance(sender, dict) else {}
    message = ConsultMessage(
        consult_id=consult.id, category=category, sender_role="gp",
        sender_agb=identifier.get("value") if identifier.get("system") == dutch.AGB else None,
        sender_name=str(sender.get("display") or organisation.name), text="\n\n".join(texts),
        in_response_to_id=question.id if question else None, document_ids=documents, sent_at=now)
    session.add(message)
    if category is MessageCategory.INFORMATION_PROVIDED and task.status is TaskStatus.ON_HOLD:
        transition(task, TaskStatus.IN_PROGRESS, now)
        task.business_status = "information-received"
    task.version_id += 1
    task.updated_at = now
    session.flush()
    if consult.patient_resource_id:  # the extra photos are the consult's patient's from now on
        link_documents(session, organisation.id, consult.patient_resource_id,
                       [f"DocumentReference/{d}" for d in documents])
    record(session, actor, event="fhir.create", action=AuditAction.CREATE, resource_type="Communication",
           resource_id=message.id, patient_ref=consult.patient_resource_id, at=now)
    return message


def _documents(session: Session, consult: Consult, resource: dict[str, Any], max_attachments: int) -> list[str]:
    """Extra photos sent with the answer: DocumentReferences of the practice, uploaded beforehand (as for
    intake: POST the Binary, then the DocumentReference), within the consult's limit of attachments."""
    ids: list[str] = []
    for index, payload in enumerate(resource["payload"]):
        expression = f"Communication.payload[{index}]"
        if "contentAttachment" in payload:
            raise UnprocessableInput(N_("Send a photo as a DocumentReference (POST /fhir/Binary, then "
                                        "/fhir/DocumentReference) and reference it with contentReference"),
                                     expression=expression)
        if "contentReference" not in payload:
            continue
        document_id = _ref_id(payload["contentReference"], "DocumentReference")
        stored = session.scalar(select(StoredResource).where(
            StoredResource.id == document_id, StoredResource.resource_type == "DocumentReference",
            StoredResource.organisation_id == consult.organisation_id)) if document_id else None
        if stored is None:
            unknown = N_("contentReference must reference a DocumentReference this practice uploaded")
            raise UnprocessableInput(unknown, issues=[Issue("not-found", unknown, f"{expression}.contentReference")])
        ids.append(stored.id)
    if ids:
        earlier = sum(len(m.document_ids or []) for m in session.scalars(
            select(ConsultMessage).where(ConsultMessage.consult_id == consult.id)))
        if consult.photo_count + earlier + len(ids) > max_attachments:
            raise UnprocessableInput(N_("A consult carries at most %(max_attachments)s photos and documents"),
                                     expression="Communication.payload", params={"max_attachments": max_attachments})
    return ids


def _question(session: Session, consult: Consult, resource: dict[str, Any],
              category: MessageCategory) -> ConsultMessage | None:
    answered = resource.get("inResponseTo", [])
    if not answered:
        if category is MessageCategory.INFORMATION_PROVIDED:
            raise UnprocessableInput(
                N_("An answer must say which question it answers (inResponseTo)"),
                issues=[
                    Issue(
                        "required",
                        N_("An answer must say which question it answers (inResponseTo)"),
                        "Communication.inResponseTo",
                    )
                ],
            )
        return None
    question_id = _ref_id(answered[0], "Communication")
    question = session.scalar(select(ConsultMessage).where(
        ConsultMessage.id == question_id, ConsultMessage.consult_id == consult.id,
        ConsultMessage.category == MessageCategory.REQUEST_FOR_INFORMATION)) if question_id else None
    if question is None:
        raise UnprocessableInput(N_("inResponseTo does not name a question of this consult"),
                                 issues=[Issue("not-found", N_("inResponseTo does not name a question of this consult"),
                                               "Communication.inResponseTo[0]")])
    return question


def photo_document(session: Session, actor: Actor, settings: Settings, consult: Consult, data: bytes,
                   content_type: str, now: datetime, author: str | None = None) -> StoredResource:
    """A photo that joins an open consult later (with the GP's answer, or from the patient): stored as a GP
    system's DocumentReference with inline data is - checked, cleaned and encrypted by the same code - about the
    consult's patient; ``author`` "patient" when the patient took it (consults/patient_photos.py)."""
    subject = {"reference": f"Patient/{consult.patient_resource_id}"} if consult.patient_resource_id else None
    attachment: dict[str, Any] = {"contentType": content_type, "data": base64.b64encode(data).decode()}
    document: dict[str, Any] = {"resourceType": "DocumentReference", "meta": {"profile": [PROFILE_CONSULT_PHOTO]},
                                "status": "current", "date": now.isoformat(), "content": [{"attachment": attachment}]}
    if subject:
        document["subject"] = subject
    if author == "patient":
        attachment["title"] = "van de patiënt"
        document["author"] = [{**(subject or {"type": "Patient"}), "display": "patiënt"}]
    return create_document_reference(session, actor, settings, consult.organisation_id, document, now)
