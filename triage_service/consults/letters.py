"""The consult letter for the patient's record (issue 19): made once when a consult is concluded, kept.

Dutch GPs file a consult's answer as a letter in the patient's record; most GP systems cannot take it from
a Communication. So when a consult is concluded (advice given, a referral accepted or returned, declined) the
service makes a PDF letter (letters/pdf.py) and keeps it as GP systems keep documents: a DocumentReference
(LOINC 11488-4 "Consult note") whose Binary is the PDF, encrypted like a photo and owned by the practice, so
``GET /fhir/DocumentReference/{id}`` and ``GET /fhir/Binary/{id}`` read it as they read photos. Task.output
names it (type ``consult-report``).

A letter is never made again differently. Its bytes are stored once and every read returns them. Issuing
again for a consult whose letter would say the same does nothing; one that would say something else becomes a
new version: a new DocumentReference that ``relatesTo`` (replaces) the one before, which is set to
``superseded`` and stays readable. Task.output names only the current one (a GP system files the newest and
can follow ``relatesTo`` back).

How a consult's letters are found without a column of their own: each carries the identifier
``{LETTER_SYSTEM}|{consult id}``, and its blind index is the stored resource's ``identifier_token``, the
indexed column every stored resource has (and that re-sealing recomputes from the identifier in the same way).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.attachments.documents import get_attachment, read_attachment, store_attachment
from triage_service.audit.trail import Actor, record
from triage_service.consults.validation import CS_CONSULT_FORM
from triage_service.errors import N_, NotFound
from triage_service.fhir import dutch
from triage_service.fhir.mapping import CS_MESSAGE_CATEGORY, CS_OUTCOME, instant
from triage_service.fhir.meta import stamp
from triage_service.fhir.profiles import CANONICAL_BASE, registry
from triage_service.letters.content import LetterContent, Party, Patient, ThreadMessage
from triage_service.letters.pdf import AMSTERDAM, dutch_date, render_letter
from triage_service.models import (
    Attachment,
    AuditAction,
    Consult,
    ConsultMessage,
    MessageCategory,
    Organisation,
    Practitioner,
    StoredResource,
)
from triage_service.models.base import new_id
from triage_service.records.patients import consult_patient, patient_bsn, patient_name
from triage_service.records.supporting import primary_identifier_token
from triage_service.routing.service import specialism_label
from triage_service.settings import Settings

LETTER_SYSTEM = f"{CANONICAL_BASE}/NamingSystem/consult-report"
LETTER_TYPE = {"coding": [{"system": "http://loinc.org", "code": "11488-4", "display": "Consult note"}],
               "text": "Consultverslag"}
# The words the portal shows for these codes in Dutch (web/translations), so the letter and screen agree.
_URGENCY = {"routine": "Routine", "urgent": "Spoed", "asap": "Zo snel mogelijk", "stat": "Direct"}
_SEX = {"female": "vrouw", "male": "man", "other": "anders"}
#: The heading of the specialist's concluding text, by outcome: a decline gives a reason, not advice.
_CONCLUSION = {"not-suitable": "Reden", "referral-accepted": "Toelichting bij de verwijzing"}


def issue_letter(session: Session, actor: Actor, consult: Consult, now: datetime) -> StoredResource:
    """Make the consult's letter (called where a consult is concluded, consults/advice.py), or a new version
    of it when it would now say something else; returns the current letter."""
    previous = _current(session, consult)
    version, replaces_at = 1, None
    if previous is not None:
        issued = datetime.fromisoformat(previous.resource["date"])
        same = letter_content(session, consult, issued, _version(session, previous), _replaces_at(session, previous))
        stored = get_attachment(session, consult.organisation_id, _binary_id(previous))
        # Compared as rendered: equal content gives equal bytes (letters/pdf.py). Only a reportlab that renders
        # differently could make an unneeded new version, never a lost change.
        if _sha1(render_letter(same)) == stored.original_sha1:
            return previous  # nothing new to say: the letter stands as it was
        version, replaces_at = _version(session, previous) + 1, issued
    content = letter_content(session, consult, now, version, replaces_at)
    data = render_letter(content)
    # Checked (a PDF, within the size limit) and encrypted by the code that stores a GP's photos and PDFs.
    pdf = store_attachment(session, actor, _settings(session), consult.organisation_id, data, "application/pdf", now,
                           patient_ref=consult.patient_resource_id)
    body = _document(consult, pdf, content, previous)
    row = StoredResource(id=new_id(), resource_type="DocumentReference", organisation_id=consult.organisation_id,
                         identifier_token=primary_identifier_token(body), patient_ref=consult.patient_resource_id,
                         version_id=1, resource={}, created_at=now, updated_at=now)
    row.resource = stamp(body, row.id, 1, now)
    session.add(row)
    if previous is not None:
        # FHIR's way to replace a document: the old one is superseded (a new version of it), not deleted.
        previous.version_id += 1
        previous.updated_at = now
        previous.resource = stamp({**previous.resource, "status": "superseded"}, previous.id, previous.version_id,
                                  now)
        record(session, actor, event="consult.letter.supersede", action=AuditAction.UPDATE,
               resource_type="DocumentReference", resource_id=previous.id, patient_ref=consult.patient_resource_id,
               at=now, detail=f"replaced_by={row.id}")
        # Task.output changes: a new version of the Task, so GP systems that follow it see the new letter.
        consult.task.version_id += 1
        consult.task.updated_at = now
    session.flush()
    record(session, actor, event="consult.letter.create", action=AuditAction.CREATE, resource_type="DocumentReference",
           resource_id=row.id, patient_ref=consult.patient_resource_id, at=now,
           detail=f"version={version}; bytes={len(data)}")
    return row


def current_letters(session: Session, consults: Iterable[Consult]) -> dict[str, str]:
    """Consult id -> id of its current letter, for the consults that have one (one query for a page)."""
    # Only a concluded consult has a letter: the others need no lookup.
    by_token = {primary_identifier_token(_identified(c.id)): c for c in consults if c.outcome}
    if not by_token:
        return {}
    organisations = {c.organisation_id for c in by_token.values()}
    rows = session.scalars(select(StoredResource).where(
        StoredResource.organisation_id.in_(organisations), StoredResource.resource_type == "DocumentReference",
        StoredResource.identifier_token.in_(list(by_token))))
    return {by_token[str(r.identifier_token)].id: r.id for r in rows if r.resource.get("status") == "current"}


def read_letter(session: Session, actor: Actor, consult: Consult, document_id: str,
                now: datetime) -> tuple[StoredResource, Attachment]:
    """One of the consult's letters (any version) for the practice's screens, the read audited under the
    patient (NEN 7513). The caller has checked the consult is the reader's practice's; a document that is not
    one of its letters is not found, as if it did not exist."""
    document = next((r for r in _letters(session, consult) if r.id == document_id), None)
    if document is None:
        raise NotFound(N_("This letter does not exist or is not one of this consult's"))
    attachment = get_attachment(session, consult.organisation_id, _binary_id(document))
    record(session, actor, event="consult.letter.read", action=AuditAction.READ, resource_type="DocumentReference",
           resource_id=document.id, patient_ref=consult.patient_resource_id, at=now)
    return document, attachment


def letter_bytes(session: Session, attachment: Attachment) -> bytes:
    """The stored PDF, decrypted (a letter is tens of kilobytes: read whole)."""
    return b"".join(read_attachment(session, _settings(session), attachment))


def letter_content(session: Session, consult: Consult, issued_at: datetime, version: int = 1,
                   replaces_issued_at: datetime | None = None) -> LetterContent:
    """What the letter says about the consult as it stands, every code in Dutch words."""
    messages = list(session.scalars(select(ConsultMessage).where(ConsultMessage.consult_id == consult.id)
                                    .order_by(ConsultMessage.sent_at, ConsultMessage.id)))
    # The specialist's concluding text (advice, reason, note) has its own place in the letter; the rest is
    # the thread, in the order it was written.
    concluding = [m for m in messages if m.category is MessageCategory.ADVICE]
    last = concluding[-1] if concluding else None
    task = consult.task
    specialist = (Party(last.sender_name, last.sender_agb, _specialism(consult.specialism)) if last is not None
                  else Party(task.owner_name or "-", task.owner_agb, _specialism(consult.specialism)))
    resource = consult.resource
    complaint = ", ".join(filter(None, (rc.get("text") for rc in resource.get("reasonCode", []))))
    outcome = consult.outcome or ""
    return LetterContent(
        consult_id=consult.id, kind="Verwijzing (triage)" if consult.is_referral_for_triage else "Meekijkconsult",
        form=registry().display(CS_CONSULT_FORM, consult.consult_form, "nl") or consult.consult_form,
        specialism=specialism_label(consult.specialism, "nl"), practice=_practice(session, consult),
        gp=_gp(session, consult), patient=_patient(session, consult), sent_at=consult.created_at,
        urgency=_URGENCY.get(consult.priority, consult.priority),
        complaint=f"{', '.join(consult.icpc_codes)}{': ' + complaint if complaint else ''}",
        question="\n\n".join(str(n.get("text", "")) for n in resource.get("note", [])),
        thread=tuple(_thread_message(m) for m in messages if m.category is not MessageCategory.ADVICE),
        outcome=registry().display(CS_OUTCOME, outcome, "nl") or outcome,
        conclusion="\n\n".join(m.text for m in concluding), conclusion_heading=_CONCLUSION.get(outcome, "Advies"),
        specialist=specialist,
        concluded_at=last.sent_at if last is not None else (consult.completed_at or issued_at), issued_at=issued_at,
        referral_target=_specialism(consult.referral_specialism) if consult.referral_specialism else "",
        referral_urgency=_URGENCY.get(consult.referral_urgency or "", consult.referral_urgency or ""),
        version=version, replaces_issued_at=replaces_issued_at)


# -- the pieces ---------------------------------------------------------------------------------------------

def _settings(session: Session) -> Settings:
    # Every session of the app carries its settings (database.py); the blob store and keys come from them.
    settings: Settings | None = session.info.get("triage.settings")
    if settings is None:
        raise RuntimeError("The session carries no settings: make it with the app's session factory")
    return settings


def _identified(consult_id: str) -> dict[str, Any]:
    return {"resourceType": "DocumentReference", "identifier": [{"system": LETTER_SYSTEM, "value": consult_id}]}


def _letters(session: Session, consult: Consult) -> list[StoredResource]:
    """Every version of the consult's letter, oldest first."""
    return list(session.scalars(select(StoredResource).where(
        StoredResource.organisation_id == consult.organisation_id, StoredResource.resource_type == "DocumentReference",
        StoredResource.identifier_token == primary_identifier_token(_identified(consult.id)))
        .order_by(StoredResource.created_at, StoredResource.id)))


def _current(session: Session, consult: Consult) -> StoredResource | None:
    return next((r for r in reversed(_letters(session, consult)) if r.resource.get("status") == "current"), None)


def _binary_id(document: StoredResource) -> str:
    return str(document.resource["content"][0]["attachment"]["url"]).removeprefix("Binary/")


def _replaced(session: Session, document: StoredResource) -> StoredResource | None:
    replaced = next((str(r["target"]["reference"]).removeprefix("DocumentReference/")
                     for r in document.resource.get("relatesTo", []) if r.get("code") == "replaces"), None)
    return session.get(StoredResource, replaced) if replaced else None


def _version(session: Session, document: StoredResource) -> int:
    """1 for a consult's first letter, one more for each it replaces (counted along relatesTo)."""
    older = _replaced(session, document)
    return 1 if older is None else 1 + _version(session, older)


def _replaces_at(session: Session, document: StoredResource) -> datetime | None:
    older = _replaced(session, document)
    return datetime.fromisoformat(older.resource["date"]) if older is not None else None


def _sha1(data: bytes) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()  # what Attachment.original_sha1 holds


def _document(consult: Consult, pdf: Attachment, content: LetterContent,
              previous: StoredResource | None) -> dict[str, Any]:
    """The letter as a DocumentReference: what a GP system needs to file it without opening it."""
    specialism, now, version = content.specialism.lower(), content.issued_at, content.version
    author = content.specialist
    body: dict[str, Any] = {
        **_identified(consult.id), "status": "current", "docStatus": "final", "type": LETTER_TYPE,
        "date": instant(now),
        "description": f"Consultverslag {specialism}",
        "content": [{"attachment": {
            "contentType": "application/pdf", "language": "nl", "url": f"Binary/{pdf.id}",
            "size": pdf.original_size, "hash": base64.b64encode(pdf.original_sha1).decode(),
            "title": f"Consultverslag {specialism}, {dutch_date(now.astimezone(AMSTERDAM).date())}, versie {version}",
            "creation": instant(now)}}],
        # The specialist who concluded, named by AGB as in Task.owner (a GP system knows no server id of ours).
        "author": [{"type": "PractitionerRole", "display": author.name,
                    **({"identifier": {"system": dutch.AGB, "value": author.agb}} if author.agb else {})}],
        "context": {"related": [{"reference": f"ServiceRequest/{consult.id}"}]},
    }
    if consult.patient_resource_id:
        body["subject"] = {"reference": f"Patient/{consult.patient_resource_id}"}
    if previous is not None:
        body["relatesTo"] = [{"code": "replaces", "target": {"reference": f"DocumentReference/{previous.id}"}}]
    return body


def _specialism(code: str | None) -> str:
    return specialism_label(code, "nl") if code else ""


#: Who wrote a message, as the letter says it.
_ROLE_WORDS = {"gp": "huisarts", "specialist": "specialist", "patient": "patiënt"}


def _thread_message(message: ConsultMessage) -> ThreadMessage:
    kind = registry().display(CS_MESSAGE_CATEGORY, message.category.value, "nl") or message.category.value
    return ThreadMessage(message.sent_at, message.sender_name,
                         _ROLE_WORDS.get(message.sender_role, message.sender_role), kind, message.text,
                         len(message.document_ids or []))


def _practice(session: Session, consult: Consult) -> Party:
    organisation = session.get(Organisation, consult.organisation_id)
    return Party(organisation.name, organisation.agb) if organisation else Party("-")


def _gp(session: Session, consult: Consult) -> Party:
    """The requesting GP: as registered (master data) if known, else as the request names them."""
    known = session.scalar(select(Practitioner).where(Practitioner.agb == consult.requester_agb))
    if known is not None:
        return Party(known.name, known.agb, "huisarts")
    resource = consult.resource
    requester = resource.get("requester", {})
    role = _contained(resource, str(requester.get("reference", "")))
    name = (role or {}).get("practitioner", {}).get("display") or requester.get("display") or "-"
    return Party(str(name), consult.requester_agb, "huisarts")


def _patient(session: Session, consult: Consult) -> Patient:
    resource = consult_patient(session, consult)
    return Patient(patient_name(resource), patient_bsn(resource), consult.patient_birth_date,
                   _SEX.get(consult.patient_gender, ""))


def _contained(resource: dict[str, Any], reference: str) -> dict[str, Any] | None:
    if not reference.startswith("#"):
        return None
    return next((c for c in resource.get("contained", []) if isinstance(c, dict) and c.get("id") == reference[1:]),
                None)
