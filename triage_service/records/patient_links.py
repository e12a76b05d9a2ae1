"""Which patient a document, photo or coverage concerns, so that every audit entry about it names that patient.

NEN 7513 asks for the patient in every entry where one is concerned; a patient's access history
(``triage-service audit patient``) is only complete if downloading their photo is in it. A photo is
uploaded (``POST /fhir/Binary``) before anything says whose it is; the DocumentReference that points
at it may say (``subject``, or ``context.related`` naming the consult), and at the latest the consult
that lists it in ``supportingInfo`` (or a thread message that carries it) does. The patient found is
stored on the resource and the file (``patient_ref``) the first time it is known, so every later
entry about them names the patient without reading encrypted content again.

Only the caller's own organisation's resources are looked at: another practice's ids resolve to nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.encryption.fields import blind_index
from triage_service.fhir import dutch
from triage_service.models import Attachment, Consult, StoredResource


def patient_of(session: Session, organisation_id: str, resource: dict[str, Any]) -> str | None:
    """The stored Patient a DocumentReference (``subject``, ``context.related``) or Coverage
    (``beneficiary``) concerns, if it names one of this organisation's."""
    rtype = resource.get("resourceType")
    subject = resource.get("subject") if rtype == "DocumentReference" else resource.get("beneficiary")
    found = _patient_named(session, organisation_id, subject) if isinstance(subject, dict) else None
    if found is None and rtype == "DocumentReference":
        related = resource.get("context", {}).get("related", []) if isinstance(resource.get("context"), dict) else []
        for reference in related if isinstance(related, list) else []:
            ref = reference.get("reference") if isinstance(reference, dict) else None
            if isinstance(ref, str) and ref.startswith("ServiceRequest/"):
                found = session.scalar(select(Consult.patient_resource_id).where(
                    Consult.id == ref.removeprefix("ServiceRequest/"), Consult.organisation_id == organisation_id))
                if found is not None:
                    break
    return found


def _patient_named(session: Session, organisation_id: str, reference: dict[str, Any]) -> str | None:
    ref = reference.get("reference")
    if isinstance(ref, str) and ref.startswith("Patient/"):
        return session.scalar(select(StoredResource.id).where(
            StoredResource.id == ref.removeprefix("Patient/"), StoredResource.resource_type == "Patient",
            StoredResource.organisation_id == organisation_id))
    identifier = reference.get("identifier")
    if isinstance(identifier, dict) and identifier.get("system") == dutch.BSN and isinstance(
            identifier.get("value"), str):
        # The same BSN posted twice by one practice is one person: any of the rows names them.
        return session.scalar(select(StoredResource.id).where(
            StoredResource.organisation_id == organisation_id, StoredResource.resource_type == "Patient",
            StoredResource.identifier_token == blind_index(dutch.BSN, identifier["value"]))
            .order_by(StoredResource.created_at, StoredResource.id).limit(1))
    return None


def binary_ids(document: dict[str, Any]) -> list[str]:
    """The Binaries a DocumentReference's attachments point at (``url`` of ``Binary/{id}``)."""
    ids = []
    for content in document.get("content", []):
        url = content.get("attachment", {}).get("url") if isinstance(content, dict) else None
        if isinstance(url, str) and url.startswith("Binary/"):
            ids.append(url.removeprefix("Binary/"))
    return ids


def link_files(session: Session, organisation_id: str, patient_ref: str, binaries: Iterable[str]) -> None:
    """These files concern this patient (unless an earlier link already said whose they are)."""
    wanted = list(binaries)
    if not wanted:
        return
    for attachment in session.scalars(select(Attachment).where(
            Attachment.id.in_(wanted), Attachment.organisation_id == organisation_id,
            Attachment.patient_ref.is_(None))):
        attachment.patient_ref = patient_ref


def link_documents(session: Session, organisation_id: str, patient_ref: str, references: Iterable[Any],
                   contained: dict[str, dict[str, Any]] | None = None) -> None:
    """A consult or a message names these DocumentReferences (``DocumentReference/{id}`` or a contained
    ``#id``): they and their files concern the consult's patient."""
    stored_ids, files = [], []
    for reference in references:
        ref = reference.get("reference") if isinstance(reference, dict) else reference
        if not isinstance(ref, str):
            continue
        if ref.startswith("DocumentReference/"):
            stored_ids.append(ref.removeprefix("DocumentReference/"))
        elif ref.startswith("#") and contained and ref[1:] in contained:
            files.extend(binary_ids(contained[ref[1:]]))
    if stored_ids:
        for document in session.scalars(select(StoredResource).where(
                StoredResource.id.in_(stored_ids), StoredResource.resource_type == "DocumentReference",
                StoredResource.organisation_id == organisation_id)):
            if document.patient_ref is None:
                document.patient_ref = patient_ref
            files.extend(binary_ids(document.resource))
    link_files(session, organisation_id, patient_ref, files)
