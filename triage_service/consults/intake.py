"""Intake: accepting a consult request that passed validation (FHIR.md "Interactions").

``submit_consult`` runs :func:`~triage_service.consults.validation.validate_consult_request`, stores the
request with its patient, routes it by the agreements' patient profiles, records the referral flags that
fired, and creates the Task that tracks it. Errors are domain errors carrying OperationOutcome issues, and
nothing here commits: the request boundary does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.consults.callouts import open_callout
from triage_service.consults.patient_context import require_context, store_context
from triage_service.consults.validation import DEFAULT_MAX_ATTACHMENTS, validate_consult_request
from triage_service.database import insert_new
from triage_service.errors import N_, Conflict
from triage_service.fhir import icpc
from triage_service.fhir.meta import stamp
from triage_service.fhir.notes import FlagTexts, agreement_flag_note
from triage_service.fhir.profiles import PROFILE_CONSULT_REQUEST
from triage_service.models import (
    AuditAction,
    Consult,
    ConsultIdentifier,
    ConsultTask,
    Organisation,
    ReferralFlag,
    RequestStatus,
    StoredResource,
    TaskStatus,
)
from triage_service.models.base import new_id
from triage_service.outcome import Issue, Message, issue, message
from triage_service.records.patient_links import link_documents
from triage_service.records.resolution import Resolver
from triage_service.records.supporting import (
    primary_identifier_token,
)
from triage_service.routing.assignment import URGENT_PRIORITIES
from triage_service.routing.referral_flags import FiredFlag, conversion_rate
from triage_service.routing.service import record_decision, route


@dataclass(frozen=True)
class Submission:
    consult: Consult
    task: ConsultTask
    created: bool  # False when an If-None-Exist retry matched an existing consult
    #: "Likely referral" flags, returned to the GP as OperationOutcome warnings.
    warnings: tuple[Issue, ...] = ()


def find_consult_by_identifier(session: Session, organisation_id: str, system: str, value: str) -> Consult | None:
    return session.scalar(
        select(Consult).join(ConsultIdentifier).where(ConsultIdentifier.organisation_id == organisation_id,
                                                      ConsultIdentifier.system == system,
                                                      ConsultIdentifier.value == value))


def submit_consult(session: Session, actor: Actor, organisation: Organisation, client_pk: str | None,
                   resource: dict[str, Any], resolver: Resolver, now: datetime,
                   if_none_exist: tuple[str, str] | None = None,
                   max_attachments: int = DEFAULT_MAX_ATTACHMENTS) -> Submission:
    """Store a valid consult request and create its Task (status ``received``)."""
    if if_none_exist is not None:
        existing = find_consult_by_identifier(session, organisation.id, *if_none_exist)
        if existing is not None:
            record(session, actor, event="fhir.create.matched", action=AuditAction.READ,
                   resource_type="ServiceRequest", resource_id=existing.id,
                   patient_ref=existing.patient_resource_id, at=now)
            return Submission(existing, existing.task, created=False)

    fields = validate_consult_request(session, organisation, resource, resolver, now, max_attachments)

    # Routing first: a request that no agreement covers is refused before anything is stored.
    outcome = route(session, fields.routing, fields.priority, now)
    chosen = outcome.assignment.chosen
    # The context the agreement asks for with this consult form (e.g. a blood pressure and an ECG), and below
    # its flags' words: from the routing table's copy of the agreement, not its row (one SELECT fewer).
    require_context(chosen.profile.context_required, chosen.profile.agreement_code, fields.consult_form,
                    fields.context.kinds)

    patient_id = (fields.patient_stored.id if fields.patient_stored
                  else _patient_for(session, organisation.id, fields.patient, now))
    # The id is chosen here, so the stored resource carries it from the INSERT (no second UPDATE).
    consult_id = new_id()
    consult = Consult(
        id=consult_id, organisation_id=organisation.id, client_pk=client_pk, status=RequestStatus.ACTIVE,
        category=fields.category, consult_form=fields.consult_form, specialism=fields.specialism,
        priority=fields.priority, authored_at=fields.authored_at, gp_intent=fields.gp_intent,
        conversion_authorised=fields.conversion_authorised, icpc_codes=fields.icpc_codes,
        primary_icpc=fields.icpc_codes[0],
        patient_resource_id=patient_id, patient_birth_date=fields.patient_birth_date,
        patient_gender=fields.patient_gender, patient_postcode=fields.patient_postcode,
        insurer_uzovi=fields.insurer_uzovi, requester_agb=fields.requester_agb, photo_count=fields.photo_count,
        patient_practice_agb=fields.patient_practice_agb,
        agreement_id=chosen.profile.agreement_id, profile_id=chosen.profile.profile_id, version_id=1,
        # The request's body, parsed for this request alone and only read after this (no deep copy).
        resource=stamp(resource, consult_id, 1, now, PROFILE_CONSULT_REQUEST, share_nested=True), created_at=now,
        updated_at=now,
    )
    consult.identifiers = [ConsultIdentifier(organisation_id=organisation.id, system=s, value=v)
                           for s, v in fields.identifiers]
    try:
        # A second submission of the same identifier (earlier, or at the same moment) fails at the unique
        # constraint: no query beforehand for the common case, and the savepoint turns the collision into
        # the same answer whichever way it came about.
        with session.begin_nested():
            session.add(consult)
            session.flush()
    except IntegrityError:
        winner = None
        for system, value in fields.identifiers:
            winner = find_consult_by_identifier(session, organisation.id, system, value)
            if winner is not None:
                break
        if winner is None:
            raise  # not an identifier collision: a bug, which must not pass for the client's fault
        if if_none_exist is not None:
            return Submission(winner, winner.task, created=False)
        raise Conflict(
            N_(
                "A consult with identifier %(system)s|%(value)s already exists "
                "(ServiceRequest/%(id)s); resubmit with If-None-Exist to retry safely"
            ),
            expression="ServiceRequest.identifier",
            params={"system": system, "value": value, "id": winner.id},
        ) from None
    store_context(session, actor, consult, fields.context, now)
    notes = _record_flags(session, consult, chosen.profile, outcome.flags, now)
    # Validated (received) and routed (accepted) in the same transaction: the GP sees the assignment at once.
    # flag_note keeps the English sentence as written; the Task's note says it in the reader's language.
    task = ConsultTask(consult_id=consult.id, organisation_id=organisation.id, status=TaskStatus.ACCEPTED,
                       business_status="likely-referral" if notes else "assigned", owner_kind=chosen.kind,
                       owner_agb=chosen.agb, owner_name=chosen.name, due_at=outcome.due, version_id=1,
                       urgent=fields.priority in URGENT_PRIORITIES, likely_referral=bool(notes),
                       flag_note="\n".join(n.english() for n in notes) or None, created_at=now, updated_at=now)
    session.add(task)
    record_decision(session, consult.id, outcome, now)
    session.flush()  # the Task's id, for its call-out
    open_callout(session, task, outcome, now)
    # The photos it lists are this patient's from now on: later reads of them are audited under the patient.
    link_documents(session, organisation.id, patient_id, resource.get("supportingInfo", []),
                   {c["id"]: c for c in resource.get("contained", []) if isinstance(c, dict) and "id" in c})
    session.flush()
    record(session, actor, event="fhir.create", action=AuditAction.CREATE, resource_type="ServiceRequest",
           resource_id=consult.id, patient_ref=patient_id, at=now)
    record(session, actor, event="fhir.create", action=AuditAction.CREATE, resource_type="Task",
           resource_id=task.id, patient_ref=patient_id, at=now)
    record(session, actor, event="routing.assign", action=AuditAction.EXECUTE, resource_type="Task",
           resource_id=task.id, patient_ref=patient_id, at=now,
           detail=f"agreement={chosen.profile.agreement_code}; owner={chosen.kind}:{chosen.agb}")
    warnings = (*_unlisted_codes(fields.icpc_codes),
                *(issue("business-rule", note, "ServiceRequest", severity="warning") for note in notes))
    return Submission(consult, task, created=True, warnings=warnings)


def _unlisted_codes(codes: list[str]) -> list[Issue]:
    """ICPC codes of the right form that the service's ICPC-1-NL table (fhir/icpc.py) lacks, such as S00 or a
    subcode NHG does not list. Accepted, since a GP system's table may be newer than ours and the chapter still
    routes the consult, but said: the specialist will see the code without its title."""
    return [issue("code-invalid", message(N_("ICPC code %(code)s is not in this service's ICPC-1-NL table: the "
                                             "consult is accepted, but check the code"), code=code),
                  "ServiceRequest.reasonCode", severity="warning")
            for code in codes if icpc.title(code) is None]


def _record_flags(session: Session, consult: Consult, agreement: FlagTexts, flags: list[FiredFlag],
                  now: datetime) -> list[Message]:
    """Store every fired flag with the conversion figure of similar consults; return them as sentences, in
    the order the Task lists them (fhir/mapping.py: the referral-profile flag first, then by rule)."""
    if not flags:
        return []
    total, converted = conversion_rate(session, consult.specialism, consult.primary_icpc)
    insert_new(session, ReferralFlag, [
        {"consult_id": consult.id, "kind": flag.kind, "rule": flag.rule, "reason": flag.reason,
         "similar_total": total, "similar_converted": converted, "flagged_at": now} for flag in flags])
    return _flag_notes(agreement, flags, total, converted)


def _flag_notes(agreement: FlagTexts, flags: list[FiredFlag], total: int, converted: int) -> list[Message]:
    ordered = sorted(flags, key=lambda f: (f.kind != "referral-profile", f.rule))
    return [agreement_flag_note(agreement, flag.kind, flag.rule, flag.reason, total, converted) for flag in ordered]


def check_consult(session: Session, organisation: Organisation, resource: dict[str, Any], resolver: Resolver,
                  now: datetime, max_attachments: int = DEFAULT_MAX_ATTACHMENTS) -> list[Issue]:
    """Everything a create checks, for ``$validate``: the same refusals (raised) and the same warnings
    (returned), from the same code, so a request $validate passes is not refused or warned about otherwise
    on create. Nothing is stored; the caller rolls back."""
    fields = validate_consult_request(session, organisation, resource, resolver, now, max_attachments)
    outcome = route(session, fields.routing, fields.priority, now)
    profile = outcome.assignment.chosen.profile
    require_context(profile.context_required, profile.agreement_code, fields.consult_form, fields.context.kinds)
    unlisted = _unlisted_codes(fields.icpc_codes)
    if not outcome.flags:
        return unlisted
    total, converted = conversion_rate(session, fields.specialism, fields.icpc_codes[0])
    notes = _flag_notes(profile, outcome.flags, total, converted)
    return [*unlisted, *(issue("business-rule", note, "ServiceRequest", severity="warning") for note in notes)]


#: The practice's Patient with this BSN: its id only (the resource is not needed, so not loaded and decrypted).
_PATIENT_BY_TOKEN = select(StoredResource.id).where(
    StoredResource.organisation_id == bindparam("organisation_id"), StoredResource.resource_type == "Patient",
    StoredResource.identifier_token == bindparam("token")).limit(1)


def _patient_for(session: Session, organisation_id: str, patient: dict[str, Any], now: datetime) -> str:
    """The id of the practice's Patient resource for a contained patient (matched on BSN, created if new).

    Giving every consult a server-side Patient makes ``Task.for``, the ``patient``
    search parameter and the audit trail's patient reference work the same for
    contained and referenced patients.
    """
    token = primary_identifier_token(patient)
    existing = session.scalar(_PATIENT_BY_TOKEN, {"organisation_id": organisation_id, "token": token})
    if existing is not None:
        return existing
    body = {k: v for k, v in patient.items() if k != "id"}
    rid = new_id()
    session.add(StoredResource(id=rid, resource_type="Patient", organisation_id=organisation_id, identifier_token=token,
                               version_id=1, resource=stamp(body, rid, 1, now), created_at=now, updated_at=now))
    session.flush()  # before the consult that refers to it
    return rid
