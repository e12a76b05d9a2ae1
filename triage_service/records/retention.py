"""Retention: personal data is kept as long as the law asks, and then removed with its photos.

- A consult (with its Task, thread, routing history, flags, declarations, facts and notifications)
  is removed once neither it nor its Task changed for ``retention_medical_years`` (WGBO: 20 years
  after the last change). Its patient, coverage and documents go with it once no remaining consult
  refers to them; a photo goes, ciphertext and all, once no remaining document points at it.
- Audit entries are removed after ``retention_audit_years`` (NEN 7513: at least five), as a prefix of the
  chain. The chain stays verifiable from the first entry that is left (each entry keeps its predecessor's
  hash), and the cut is recorded - signed in the anchor file and in the purge's keyed entry - so that
  ``audit verify`` can tell it from someone deleting the oldest entries.
- A consult draft of the GP portal that was never sent goes ``retention_draft_days`` after its last change
  (the practice abandoned it; it holds a BSN and a question), and so does any uploaded file that by then no
  DocumentReference and no draft names: nothing will ever name it, and an orphaned photo is still a photo
  of a patient.
- The purge audits itself, with counts only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from triage_service.audit import keys as audit_keys
from triage_service.audit.anchors import append_cut
from triage_service.audit.trail import CLI_ACTOR, record
from triage_service.models import (
    Appointment,
    Attachment,
    AuditAction,
    AuditEntry,
    Consult,
    ConsultContextItem,
    ConsultDraft,
    ConsultFact,
    ConsultIdentifier,
    ConsultMessage,
    ConsultTask,
    DeadlineEvent,
    DeclarationLine,
    DraftStatus,
    EncryptedBlob,
    Notification,
    PatientUploadLink,
    ReferralFlag,
    RoutingDecision,
    StoredResource,
)
from triage_service.settings import Settings
from triage_service.storage import BlobStore

#: Patient data among the stored resources (organisations and practitioners are not).
PATIENT_TYPES = ("Patient", "Coverage", "DocumentReference")


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


@dataclass
class PurgeResult:
    consults: int = 0
    resources: int = 0
    photos: int = 0
    audit_entries: int = 0
    drafts: int = 0


def purge(session: Session, settings: Settings, store: BlobStore, now: datetime) -> PurgeResult:
    result = PurgeResult()
    medical = years_before(now, settings.retention_medical_years)
    expired = list(session.scalars(select(Consult.id).join(ConsultTask, ConsultTask.consult_id == Consult.id).where(
        Consult.updated_at < medical, ConsultTask.updated_at < medical)))
    for start in range(0, len(expired), 500):
        _remove_consults(session, expired[start:start + 500])
    result.consults = len(expired)
    drafts = _day_before(now, settings.retention_draft_days)
    abandoned = list(session.scalars(select(ConsultDraft.id).where(ConsultDraft.status != DraftStatus.SENT,
                                                                   ConsultDraft.updated_at < drafts)))
    session.execute(delete(PatientUploadLink).where(PatientUploadLink.draft_id.in_(abandoned)))
    session.execute(delete(ConsultDraft).where(ConsultDraft.id.in_(abandoned)))
    result.drafts = len(abandoned)
    result.resources = _remove_unreferenced_resources(session, medical)
    result.photos = _remove_unreferenced_photos(session, store, drafts)
    result.audit_entries, cut = _cut_audit_trail(session, settings, years_before(now, settings.retention_audit_years),
                                                 now)
    session.flush()
    # The cut goes into the purge's own (keyed) entry too: `audit verify` accepts a chain that starts later
    # than entry 1 only where a purge recorded it.
    record(session, CLI_ACTOR, event="retention.purge", action=AuditAction.DELETE, at=now,
           detail="; ".join(f"{k}={v}" for k, v in asdict(result).items())
           + (f"; audit_cut={cut[0]}:{cut[1]}" if cut else ""))
    return result


def _cut_audit_trail(session: Session, settings: Settings, cutoff: datetime,
                     now: datetime) -> tuple[int, tuple[int, str] | None]:
    """Remove the audit entries older than ``cutoff`` as a prefix of the chain, so what stays is one unbroken
    chain: up to the first entry that must stay (an older one after it stays too, for a while longer), and
    never the newest, which the next entry chains onto. Returns the count and the cut (first entry kept,
    its predecessor's hash)."""
    newest = session.scalar(select(func.max(AuditEntry.chain_index)))
    if newest is None:
        return 0, None
    keep_from = session.scalar(select(func.min(AuditEntry.chain_index)).where(AuditEntry.occurred_at >= cutoff))
    keep_from = min(newest if keep_from is None else keep_from, newest)
    removed = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.chain_index < keep_from))
    if not removed:
        return 0, None
    previous = session.scalar(select(AuditEntry.prev_hash).where(AuditEntry.chain_index == keep_from))
    assert previous is not None  # keep_from is an existing entry's index
    # Signed and outside the database, before anything goes: a purge that then rolls back leaves a permission
    # nobody uses, never a removal without one.
    append_cut(settings.audit_anchor_path, audit_keys.current(), now, (keep_from, previous))
    session.execute(delete(AuditEntry).where(AuditEntry.chain_index < keep_from))
    return int(removed), (keep_from, previous)


def _day_before(moment: datetime, days: int) -> datetime:
    return moment - timedelta(days=days)


def _remove_consults(session: Session, ids: list[str]) -> None:
    tasks = list(session.scalars(select(ConsultTask.id).where(ConsultTask.consult_id.in_(ids))))
    session.execute(delete(Notification).where(Notification.task_id.in_(tasks)))
    session.execute(delete(DeadlineEvent).where(DeadlineEvent.task_id.in_(tasks)))
    # One statement each: an appointment that replaces another goes in the same statement as the one it replaces.
    for model in (ConsultFact, ReferralFlag, RoutingDecision, ConsultIdentifier, Appointment, ConsultContextItem):
        session.execute(delete(model).where(model.consult_id.in_(ids)))
    # Corrections point at the lines they correct: those go first.
    session.execute(delete(DeclarationLine).where(DeclarationLine.consult_id.in_(ids),
                                                  DeclarationLine.corrects_line_id.is_not(None)))
    session.execute(delete(DeclarationLine).where(DeclarationLine.consult_id.in_(ids)))
    session.execute(delete(ConsultMessage).where(ConsultMessage.consult_id.in_(ids),
                                                 ConsultMessage.in_response_to_id.is_not(None)))
    session.execute(delete(ConsultMessage).where(ConsultMessage.consult_id.in_(ids)))
    # A sent draft only remembers which consult it became: it goes with it, and its patient links with it.
    sent = select(ConsultDraft.id).where(ConsultDraft.consult_id.in_(ids))
    session.execute(delete(PatientUploadLink).where(PatientUploadLink.draft_id.in_(sent)))
    session.execute(delete(ConsultDraft).where(ConsultDraft.consult_id.in_(ids)))
    session.execute(delete(ConsultTask).where(ConsultTask.id.in_(tasks)))
    session.execute(delete(Consult).where(Consult.id.in_(ids)))


def _remove_unreferenced_resources(session: Session, cutoff: datetime) -> int:
    in_use = set(session.scalars(select(Consult.patient_resource_id).where(Consult.patient_resource_id.is_not(None))))
    referenced = _documents_in_use(session)
    old = [r for r in session.scalars(select(StoredResource).where(StoredResource.resource_type.in_(PATIENT_TYPES),
                                                                   StoredResource.updated_at < cutoff))
           if r.id not in in_use and r.id not in referenced]
    # A consult's letters (consults/letters.py: context.related names the consult) are part of its record:
    # they stay as long as the consult does, though made when it was concluded and unchanged since.
    related = {r.id: _related_consults(r.resource) for r in old if r.resource_type == "DocumentReference"}
    named = set().union(*related.values()) if related else set()
    remaining = set(session.scalars(select(Consult.id).where(Consult.id.in_(named)))) if named else set()
    old = [r for r in old if not related.get(r.id, set()) & remaining]
    for resource in old:
        session.delete(resource)
    return len(old)


def _related_consults(document: dict[str, Any]) -> set[str]:
    related = document.get("context", {}).get("related", [])
    return {str(r.get("reference", "")).removeprefix("ServiceRequest/") for r in related
            if isinstance(r, dict) and str(r.get("reference", "")).startswith("ServiceRequest/")}


def _documents_in_use(session: Session) -> set[str]:
    """DocumentReferences named by remaining consults (supportingInfo) or messages (extra photos)."""
    used: set[str] = set()
    for resource in session.scalars(select(Consult.resource)):
        for reference in resource.get("supportingInfo", []):
            ref = str(reference.get("reference", ""))
            if ref.startswith("DocumentReference/"):
                used.add(ref.removeprefix("DocumentReference/"))
    for ids in session.scalars(select(ConsultMessage.document_ids)):
        used.update(ids or [])
    return used


def _remove_unreferenced_photos(session: Session, store: BlobStore, cutoff: datetime) -> int:
    session.flush()
    pointed = set()
    for document in session.scalars(select(StoredResource.resource).where(
            StoredResource.resource_type == "DocumentReference")):
        for content in document.get("content", []):
            url = str(content.get("attachment", {}).get("url", ""))
            if url.startswith("Binary/"):
                pointed.add(url.removeprefix("Binary/"))
    for files in session.scalars(select(ConsultDraft.files).where(ConsultDraft.status != DraftStatus.SENT)):
        pointed.update(str(f.get("attachment_id")) for f in files or [])
    old = [a for a in session.scalars(select(Attachment).where(Attachment.created_at < cutoff))
           if a.id not in pointed]
    for attachment in old:
        blob_ids = [b for b in (attachment.blob_id, attachment.thumbnail_blob_id) if b]
        session.delete(attachment)
        session.flush()
        for blob in session.scalars(select(EncryptedBlob).where(EncryptedBlob.id.in_(blob_ids))):
            # The file goes only once the rows are gone for good: a purge that rolls back loses nothing.
            session.info.setdefault(_DOOMED, []).append((store, blob.storage_name))
            session.delete(blob)
    return len(old)


_DOOMED = "triage.blobs_doomed"


@event.listens_for(Session, "after_commit")
def _delete_doomed_files(session: Session) -> None:
    for store, name in session.info.pop(_DOOMED, []):
        store.delete(name)


@event.listens_for(Session, "after_rollback")
def _keep_doomed_files(session: Session) -> None:
    session.info.pop(_DOOMED, None)
