"""Photos from the patient: a one-time link the GP gives the patient, who uploads into the practice's draft.

The link is valid for 72 hours and used once. Before anything is accepted the patient gives their birth date,
which must be the draft's (five wrong tries close the link): whoever finds a link in someone else's inbox
still cannot add photos to that person's consult. The photos take the API's own path (checked, cleaned of
metadata, encrypted, measured for sharpness) and are marked as the patient's, so the consult sent later says
the patient made them (DocumentReference.author). The patient sees nothing of the consult.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.consults.drafts import add_file, draft_of
from triage_service.consults.practice import consult_of_practice, practice_actor
from triage_service.consults.thread import photo_document
from triage_service.errors import N_, Conflict, Forbidden, UnprocessableInput
from triage_service.models import (
    AuditAction,
    AuditOutcome,
    Consult,
    ConsultDraft,
    ConsultMessage,
    DraftStatus,
    MessageCategory,
    PatientUploadLink,
)
from triage_service.records.patient_links import link_documents
from triage_service.routing.assignment import OPEN_STATUSES
from triage_service.security.web_auth import InboxUser
from triage_service.settings import Settings

VALID_FOR = timedelta(hours=72)
MAX_TRIES = 5
#: At most this many photos per link (the consult's own limit applies as well).
MAX_PHOTOS = 6


class LinkClosed(Exception):
    """``kind``: unknown, expired, used or closed (too many wrong birth dates, or withdrawn)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(session: Session, user: InboxUser, draft_id: str, now: datetime,
                source_ip: str | None) -> tuple[PatientUploadLink, str]:
    """A new link for the draft; returns it with its secret, which is shown once and never stored."""
    draft = draft_of(session, user, draft_id)
    if draft.status is DraftStatus.SENT:
        raise Forbidden(N_("This consult has been sent already; it can no longer be changed"))
    if not draft.form.get("birth_date"):
        raise Forbidden(N_("Fill in the patient's date of birth first: the patient confirms it before uploading"))
    token = secrets.token_urlsafe(24)
    link = PatientUploadLink(token_hash=_hash(token), organisation_id=draft.organisation_id, draft_id=draft.id,
                             created_by=user.id, created_at=now, expires_at=now + VALID_FOR, failed_attempts=0,
                             photo_count=0)
    session.add(link)
    session.flush()
    record(session, practice_actor(user, source_ip), event="portal.patient-link.create", action=AuditAction.CREATE,
           resource_type="PatientUploadLink", resource_id=link.id, at=now)
    return link, token


def create_consult_link(session: Session, user: InboxUser, consult_id: str, now: datetime,
                        source_ip: str | None) -> tuple[PatientUploadLink, str]:
    """A link for photos that join a consult already sent (while it is open), e.g. when the specialist asks."""
    consult = consult_of_practice(session, user, consult_id)
    return link_for_consult(session, practice_actor(user, source_ip), user.id, consult, now)


def link_for_consult(session: Session, actor: Actor, created_by: str | None, consult: Consult,
                     now: datetime) -> tuple[PatientUploadLink, str]:
    """The same for whoever asks: a GP in the portal, or the practice's GP system ($patient-photo-link)."""
    if consult.task.status not in OPEN_STATUSES:
        raise Conflict(N_("This consult is no longer open: no photos can be added"))
    token = secrets.token_urlsafe(24)
    link = PatientUploadLink(token_hash=_hash(token), organisation_id=consult.organisation_id, consult_id=consult.id,
                             created_by=created_by, created_at=now, expires_at=now + VALID_FOR, failed_attempts=0,
                             photo_count=0)
    session.add(link)
    session.flush()
    record(session, actor, event="patient-link.create", action=AuditAction.CREATE,
           resource_type="PatientUploadLink", resource_id=link.id, patient_ref=consult.patient_resource_id, at=now)
    return link, token


def links_of(session: Session, draft: ConsultDraft | None = None,
             consult: Consult | None = None) -> list[PatientUploadLink]:
    owner = PatientUploadLink.draft_id == draft.id if draft is not None else \
        PatientUploadLink.consult_id == (consult.id if consult is not None else None)
    return list(session.scalars(select(PatientUploadLink).where(owner).order_by(PatientUploadLink.created_at)))


def open_link(session: Session, token: str, now: datetime) -> PatientUploadLink:
    """The link if it may still be used; ``LinkClosed`` saying why not otherwise."""
    link = session.scalar(select(PatientUploadLink).where(PatientUploadLink.token_hash == _hash(token))) \
        if 0 < len(token) <= 100 else None
    if link is None:
        raise LinkClosed("unknown")
    if link.used_at is not None:
        raise LinkClosed("used")
    if link.closed_at is not None:
        raise LinkClosed("closed")
    if now >= link.expires_at:
        raise LinkClosed("expired")
    if link.consult_id is not None:
        consult = session.get(Consult, link.consult_id)
        if consult is None or consult.task.status not in OPEN_STATUSES:
            raise LinkClosed("closed")  # answered, cancelled or declined meanwhile
        return link
    draft = session.get(ConsultDraft, link.draft_id) if link.draft_id else None
    if draft is None or draft.status is DraftStatus.SENT:
        raise LinkClosed("closed")  # the GP sent the consult (or deleted the draft) meanwhile
    return link


def _actor(link: PatientUploadLink, source_ip: str | None) -> Actor:
    # The patient acts for themself; the link is all that identifies them (its id, never the secret).
    return Actor(kind="patient", id=f"PatientUploadLink/{link.id}", organisation_id=link.organisation_id,
                 source_ip=source_ip, on_behalf_of="Patient")


def check_birth_date(session: Session, link: PatientUploadLink, given: str, now: datetime,
                     source_ip: str | None) -> bool:
    """Whether ``given`` (YYYY-MM-DD) is the patient's birth date; the fifth wrong try closes the link."""
    expected = _birth_date_of(session, link)
    try:
        right = bool(expected) and date.fromisoformat(given.strip()) == date.fromisoformat(expected)
    except ValueError:
        right = False
    if right:
        link.verified_at = now
    else:
        link.failed_attempts += 1
        if link.failed_attempts >= MAX_TRIES:
            link.closed_at = now
    record(session, _actor(link, source_ip), event="patient.birth-date", action=AuditAction.EXECUTE,
           outcome=AuditOutcome.SUCCESS if right else AuditOutcome.MINOR_FAILURE, resource_type="PatientUploadLink",
           resource_id=link.id, detail=f"tries={link.failed_attempts}", at=now)
    return right


def _birth_date_of(session: Session, link: PatientUploadLink) -> str:
    if link.consult_id is not None:
        consult = session.get(Consult, link.consult_id)
        return consult.patient_birth_date.isoformat() if consult else ""
    draft = session.get(ConsultDraft, link.draft_id) if link.draft_id else None
    return str(draft.form.get("birth_date", "")) if draft else ""


def add_patient_photo(session: Session, settings: Settings, link: PatientUploadLink, data: bytes, content_type: str,
                      now: datetime, source_ip: str | None) -> dict[str, Any]:
    """Store one photo from the patient (the API's checks and cleaning), marked as theirs: in the draft, or as a
    DocumentReference of the open consult (``document_id`` in the answer; :func:`finish` adds them to the thread)."""
    if link.verified_at is None:
        raise Forbidden(N_("Confirm your date of birth first"))
    if link.photo_count >= MAX_PHOTOS:
        raise Forbidden(N_("You have sent the most photos this link accepts"))
    if not content_type.startswith("image/"):
        # The patient sends photos only: a document could be anything, and nobody at the practice asked for one.
        # (The stored type is the declared one: a file whose bytes are another type is refused when stored.)
        raise UnprocessableInput(N_("Only photos (JPEG or PNG) can be sent with this link"))
    if link.consult_id is not None:
        return _photo_for_consult(session, settings, link, data, content_type, now, source_ip)
    draft = session.get(ConsultDraft, link.draft_id) if link.draft_id else None
    assert draft is not None  # open_link checked it
    entry = add_file(session, _actor(link, source_ip), settings, draft, data, content_type, "van de patiënt", now)
    draft.files = [{**f, "from_patient": True} if f["attachment_id"] == entry["attachment_id"] else f
                   for f in draft.files]
    link.photo_count += 1
    return entry


def _photo_for_consult(session: Session, settings: Settings, link: PatientUploadLink, data: bytes,
                       content_type: str, now: datetime, source_ip: str | None) -> dict[str, Any]:
    consult = session.get(Consult, link.consult_id)
    assert consult is not None  # open_link checked it
    earlier = sum(len(m.document_ids or []) for m in consult.messages)
    if consult.photo_count + earlier + 1 > settings.max_attachments_per_consult:
        raise Forbidden(N_("This consult cannot hold more photos"))
    stored = photo_document(session, _actor(link, source_ip), settings, consult, data, content_type, now,
                            author="patient")
    link.photo_count += 1
    return {"document_id": stored.id}


def finish(session: Session, link: PatientUploadLink, now: datetime, source_ip: str | None,
           document_ids: list[str] | None = None) -> None:
    """The patient is done: the link is used and accepts nothing more. Photos for an open consult join its
    thread as a message from the patient, and the Task changes, so the GP system and the specialist hear of it."""
    link.used_at = now
    if link.consult_id is not None and document_ids:
        consult = session.get(Consult, link.consult_id)
        assert consult is not None
        session.add(ConsultMessage(consult_id=consult.id, category=MessageCategory.GENERAL, sender_role="patient",
                                   sender_name="Patiënt", text="Foto's van de patiënt, gestuurd met de link van de "
                                   "huisarts.", document_ids=document_ids, sent_at=now))
        task = consult.task
        task.version_id += 1
        task.updated_at = now
        if consult.patient_resource_id:
            link_documents(session, consult.organisation_id, consult.patient_resource_id,
                           [f"DocumentReference/{d}" for d in document_ids])
    record(session, _actor(link, source_ip), event="patient.upload.finish", action=AuditAction.CREATE,
           resource_type="PatientUploadLink", resource_id=link.id, detail=f"photos={link.photo_count}", at=now)
