"""Photos and documents: checked, sanitised, encrypted, and linked to consults through DocumentReferences."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.attachments.blobs import PiecesReader, load_keyring, read_blob, store_blob
from triage_service.attachments.photos import CheckedFile, check_file
from triage_service.audit.trail import Actor, record
from triage_service.encryption.envelope import KeyRing
from triage_service.errors import N_, InvalidInput, NotFound, UnprocessableInput
from triage_service.fhir.json_rules import decode_base64_strict
from triage_service.fhir.meta import stamp
from triage_service.fhir.profiles import PROFILE_CONSULT_PHOTO, registry
from triage_service.models import Attachment, AuditAction, StoredResource
from triage_service.models.base import new_id
from triage_service.outcome import Issue
from triage_service.records.patient_links import patient_of
from triage_service.settings import Settings
from triage_service.storage import BlobStore
from triage_service.storage.filesystem import FilesystemBlobStore

_ring_lock = threading.Lock()
_ring_cache: dict[str, tuple[float, KeyRing]] = {}


def keyring(settings: Settings) -> KeyRing:
    """The key ring, re-read when its file changes: after `rotate-keys` in another process, running
    workers must be able to unwrap keys wrapped with the new KEK."""
    path = settings.keyring_path
    mtime = path.stat().st_mtime if path.exists() else 0.0
    cached = _ring_cache.get(str(path))
    if cached is not None and cached[0] == mtime:
        return cached[1]
    with _ring_lock:
        ring = load_keyring(settings)
        _ring_cache[str(path)] = (path.stat().st_mtime, ring)
    return ring


def blob_store(settings: Settings) -> BlobStore:
    return FilesystemBlobStore(settings.blob_path)


def binary_content(resource: dict[str, Any], where: str = "Binary") -> tuple[bytes, str]:
    """The bytes and declared type of a posted Binary resource, or a 4xx naming ``where.data``.

    FHIR R4 makes Binary.data optional (a Binary may be only a pointer elsewhere), so a Binary without it is
    valid FHIR that breaks our rule, a 422 like an empty raw upload; here the content is what is being
    uploaded, so it is required. Data that is not base64 is not valid FHIR: a 400.
    """
    data = resource.get("data")
    if not isinstance(data, str) or not data.strip():
        raise UnprocessableInput(N_("A Binary resource must carry its content as base64 in data (or POST the raw bytes "
                                    "with their own Content-Type)"), expression=f"{where}.data")
    try:
        decoded = decode_base64_strict(data)
    except ValueError as exc:
        raise InvalidInput(N_("Binary.data is not valid base64: %(error)s"), expression=f"{where}.data",
                           params={"error": exc}) from None
    return decoded, str(resource.get("contentType", ""))


def store_attachment(session: Session, actor: Actor, settings: Settings, organisation_id: str, data: bytes,
                     declared_type: str, now: datetime, attachment_id: str | None = None,
                     patient_ref: str | None = None) -> Attachment:
    """Check, sanitise, encrypt and store a file; ``attachment_id`` pre-assigns the Binary id (transactions);
    ``patient_ref`` is the patient it concerns when the upload says (inline in a DocumentReference)."""
    checked = check_file(data, declared_type, settings.max_attachment_bytes, settings.max_image_pixels)
    return _store_checked(session, actor, settings, organisation_id, checked, now, attachment_id, patient_ref)


def _store_checked(session: Session, actor: Actor, settings: Settings, organisation_id: str, checked: CheckedFile,
                   now: datetime, attachment_id: str | None = None, patient_ref: str | None = None) -> Attachment:
    store, ring = blob_store(settings), keyring(settings)
    blob = store_blob(session, store, ring, PiecesReader(checked.pieces))
    thumbnail = store_blob(session, store, ring, io.BytesIO(checked.thumbnail)) if checked.thumbnail else None
    attachment = Attachment(id=attachment_id or new_id(), organisation_id=organisation_id,
                            content_type=checked.content_type,
                            original_size=checked.original_size, original_sha1=checked.original_sha1,
                            served_sha1=served_sha1(checked.pieces),
                            width=checked.width, height=checked.height, blob_id=blob.id,
                            thumbnail_blob_id=thumbnail.id if thumbnail else None, created_at=now,
                            patient_ref=patient_ref)
    session.add(attachment)
    session.flush()
    # A plain upload does not say whose photo it is yet; the DocumentReference or consult that names it will
    # (records/patient_links.py), and `audit patient` then finds this entry through the file.
    record(session, actor, event="fhir.create", action=AuditAction.CREATE, resource_type="Binary",
           resource_id=attachment.id, patient_ref=patient_ref, at=now,
           detail=f"type={checked.content_type}; bytes={checked.original_size}")
    return attachment


def served_sha1(pieces: tuple[bytes | memoryview, ...]) -> bytes:
    digest = hashlib.sha1(usedforsecurity=False)  # FHIR's Attachment.hash is SHA-1 by definition
    for piece in pieces:
        digest.update(piece)
    return digest.digest()


def served_description(stored: Attachment) -> tuple[int, str]:
    """Attachment.size and .hash of the bytes as served; the upload's for a file stored before the served
    hash was kept (an unchanged PDF is the same either way)."""
    if stored.served_sha1 is None:
        return stored.original_size, base64.b64encode(stored.original_sha1).decode()
    return stored.blob.size, base64.b64encode(stored.served_sha1).decode()


def get_attachment(session: Session, organisation_id: str, attachment_id: str) -> Attachment:
    attachment = session.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                                         Attachment.organisation_id == organisation_id))
    if attachment is None:
        raise NotFound(N_("Binary/%(attachment_id)s is not known to this client's organisation"),
                       params={"attachment_id": attachment_id})
    return attachment


def read_attachment(session: Session, settings: Settings, attachment: Attachment,
                    thumbnail: bool = False) -> Iterator[bytes]:
    blob_id = attachment.thumbnail_blob_id if thumbnail and attachment.thumbnail_blob_id else attachment.blob_id
    return read_blob(session, blob_store(settings), keyring(settings), blob_id)


def create_document_reference(session: Session, actor: Actor, settings: Settings, organisation_id: str,
                              resource: dict[str, Any], now: datetime, rid: str | None = None) -> StoredResource:
    """Store a photo DocumentReference: inline ``data`` becomes an encrypted Binary, ``url`` must name
    one of the practice's Binaries; ``size``/``hash`` must describe the bytes when given."""
    issues = registry().validate(resource, PROFILE_CONSULT_PHOTO)
    if any(i.is_error for i in issues):
        raise UnprocessableInput(N_("The DocumentReference does not meet the consult-photo profile"),
                                 issues=[i for i in issues if i.is_error])
    body = copy.deepcopy(resource)
    patient_ref = patient_of(session, organisation_id, resource)
    for index, content in enumerate(body.get("content", [])):
        expr = f"DocumentReference.content[{index}].attachment"
        attachment = content["attachment"]
        if "data" in attachment:
            data = decode_base64_strict(attachment.pop("data"))
            stored = store_attachment(session, actor, settings, organisation_id, data,
                                      attachment.get("contentType", ""), now, patient_ref=patient_ref)
            attachment["url"] = f"Binary/{stored.id}"
        else:
            url = str(attachment.get("url", ""))
            if not url.startswith("Binary/"):
                raise UnprocessableInput(N_("An attachment url must be Binary/{id} of a photo uploaded to this "
                                            "service"),
                                         expression=f"{expr}.url")
            stored = get_attachment(session, organisation_id, url.removeprefix("Binary/"))
            if patient_ref is not None and stored.patient_ref is None:
                stored.patient_ref = patient_ref
        _check_matches(stored, attachment, expr)
        # What the GP system sent described its upload; what we serve describes the file at the url, which
        # is cleaned of metadata (FHIR: size and hash are of the attachment's data).
        attachment["size"], attachment["hash"] = served_description(stored)
    row = StoredResource(id=rid or new_id(), resource_type="DocumentReference", organisation_id=organisation_id,
                         version_id=1, patient_ref=patient_ref, resource={}, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    row.resource = stamp(body, row.id, 1, now, PROFILE_CONSULT_PHOTO)
    record(session, actor, event="fhir.create", action=AuditAction.CREATE, resource_type="DocumentReference",
           resource_id=row.id, patient_ref=patient_ref, at=now)
    return row


def _check_matches(stored: Attachment, attachment: dict[str, Any], expr: str) -> None:
    problems = []
    if attachment.get("contentType") != stored.content_type:
        problems.append(Issue("value", N_("contentType must be %(content_type)s, the type of the bytes"),
                              f"{expr}.contentType", params={"content_type": stored.content_type}))
    if "size" in attachment and attachment["size"] != stored.original_size:
        problems.append(
            Issue(
                "value",
                N_("size says %(size)s bytes, the file has %(actual)s"),
                f"{expr}.size",
                params={"size": attachment["size"], "actual": stored.original_size},
            )
        )
    if "hash" in attachment and attachment["hash"] != base64.b64encode(stored.original_sha1).decode():
        problems.append(Issue("value", N_("hash is not the base64 SHA-1 of the file"), f"{expr}.hash"))
    if problems:
        raise UnprocessableInput(N_("The attachment does not describe its file"), issues=problems)
