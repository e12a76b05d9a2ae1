"""Intake: validating and accepting a consult request (FHIR.md "Interactions").

``validate_consult_request`` runs every check of the profile and the business
rules and returns the extracted domain fields; ``submit_consult`` stores the
request and creates the Task that tracks it. Both raise domain errors carrying
OperationOutcome issues, and neither commits: the request boundary does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage_service.errors import Conflict, Forbidden, UnprocessableInput
from triage_service.fhir import dutch
from triage_service.fhir.outcome import Issue
from triage_service.fhir.profiles import CANONICAL_BASE, PROFILE_CONSULT_REQUEST, registry
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
from triage_service.routing.assignment import URGENT_PRIORITIES
from triage_service.routing.matching import RoutingRequest
from triage_service.routing.referral_flags import FiredFlag, conversion_rate, describe
from triage_service.routing.service import age_on, record_decision, route
from triage_service.routing.working_time import AMSTERDAM
from triage_service.security.audit import Actor, record
from triage_service.services.patient_links import link_documents
from triage_service.services.resolution import Resolver
from triage_service.services.supporting import (
    birth_date,
    check_organization_agb,
    check_patient,
    identifier_issues,
    identifier_values,
    parse_instant,
    primary_identifier_token,
)

EXT_GP_INTENT = f"{CANONICAL_BASE}/StructureDefinition/triage-ext-gp-intent"
EXT_CONVERSION_AUTHORISED = f"{CANONICAL_BASE}/StructureDefinition/triage-ext-conversion-authorised"
CS_REQUEST_CATEGORY = f"{CANONICAL_BASE}/CodeSystem/triage-request-category"
CS_CONSULT_FORM = f"{CANONICAL_BASE}/CodeSystem/triage-consult-form"
CS_GP_INTENT = f"{CANONICAL_BASE}/CodeSystem/triage-gp-intent"
VS_REQUESTED_SPECIALISM = f"{CANONICAL_BASE}/ValueSet/triage-requested-specialism"


@dataclass(frozen=True)
class ConsultFields:
    """What intake extracts from a valid request: the snapshot routing and declarations use."""

    identifiers: list[tuple[str, str]]
    category: str
    consult_form: str
    specialism: str
    priority: str
    authored_at: datetime
    gp_intent: str | None
    conversion_authorised: bool | None
    icpc_codes: list[str]
    patient: dict[str, Any]
    patient_stored: StoredResource | None
    patient_birth_date: date
    patient_gender: str
    patient_postcode: str | None
    insurer_uzovi: str
    requester_agb: str
    practice_agb: str
    photo_count: int
    #: The snapshot routing matches against the agreements.
    routing: RoutingRequest


@dataclass(frozen=True)
class Submission:
    consult: Consult
    task: ConsultTask
    created: bool  # False when an If-None-Exist retry matched an existing consult
    #: "Likely referral" flags, returned to the GP as OperationOutcome warnings.
    warnings: tuple[Issue, ...] = ()


def _code_in(concepts: list[Any], system: str) -> str | None:
    for concept in concepts:
        for coding in concept.get("coding", []) if isinstance(concept, dict) else []:
            if coding.get("system") == system and isinstance(coding.get("code"), str):
                return str(coding["code"])
    return None


def _extension(resource: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in resource.get("extension", []) if e.get("url") == url), None)


#: Clocks of GP systems drift; a request authored slightly "in the future" is still genuine.
CLOCK_SKEW = timedelta(minutes=5)


#: The default of TRIAGE_MAX_ATTACHMENTS_PER_CONSULT, for callers without settings at hand.
DEFAULT_MAX_ATTACHMENTS = 10


def validate_consult_request(session: Session, organisation: Organisation, resource: dict[str, Any],
                             resolver: Resolver, now: datetime,
                             max_attachments: int = DEFAULT_MAX_ATTACHMENTS) -> ConsultFields:
    """Every profile and business rule of a consult request; raises with all issues at once."""
    issues = registry().validate(resource, PROFILE_CONSULT_REQUEST, resolver.reference_type)
    issues.extend(identifier_issues(resource, "ServiceRequest"))
    if resource.get("status") != RequestStatus.ACTIVE.value:
        issues.append(Issue("value", "A consult request is submitted with status 'active'",
                            "ServiceRequest.status"))

    patient = resolver.resolve(resource.get("subject"))
    if patient is not None and patient.resource.get("resourceType") == "Patient":
        issues.extend(check_patient(patient.resource, patient.location or "ServiceRequest.subject"))
    authored = resource.get("authoredOn")
    if isinstance(authored, str) and parse_instant(authored) > now + CLOCK_SKEW:
        issues.append(Issue("value", "authoredOn lies in the future; send the moment the GP wrote the request",
                            "ServiceRequest.authoredOn"))

    requester_agb = practice_agb = None
    role = resolver.resolve(resource.get("requester"))
    if role is not None and role.resource.get("resourceType") == "PractitionerRole":
        practitioner = role.resource.get("practitioner", {})
        agb = (practitioner.get("identifier") or {}) if isinstance(practitioner, dict) else {}
        if agb.get("system") != dutch.AGB or not dutch.is_valid_agb(str(agb.get("value", ""))):
            issues.append(Issue("required", "The requesting GP needs practitioner.identifier with system "
                                f"{dutch.AGB} and an 8-digit AGB code", "ServiceRequest.requester"))
        else:
            requester_agb = str(agb["value"])
        practice = resolver.resolve(role.resource.get("organization"))
        if practice is None or practice.resource.get("resourceType") != "Organization":
            issues.append(Issue("required", "The requesting GP's PractitionerRole.organization must reference "
                                "the practice (Organization with its AGB code)", "ServiceRequest.requester"))
        else:
            org_issues = check_organization_agb(practice.resource, "ServiceRequest.requester", "practice")
            issues.extend(org_issues)
            if not org_issues:
                practice_agb = identifier_values(practice.resource, dutch.AGB)[0]

    uzovi = None
    coverage_refs = resource.get("insurance", [])
    coverage = resolver.resolve(coverage_refs[0]) if coverage_refs else None
    if coverage is not None and coverage.resource.get("resourceType") == "Coverage":
        uzovi = _payor_uzovi(coverage.resource, resolver)
        if uzovi is None:
            issues.append(Issue("required", f"The Coverage needs a payor identified by its UZOVI code "
                                f"({dutch.UZOVI}, 4 digits)", "ServiceRequest.insurance[0]"))

    performer_agb = _performer_agb(resource, resolver, issues)
    photo_count = _photo_count(resource, resolver, issues, max_attachments)

    errors = [i for i in issues if i.is_error]
    if errors:
        raise UnprocessableInput("The consult request does not meet the consult-request profile",
                                 issues=errors)
    if patient is None or requester_agb is None or practice_agb is None or uzovi is None:
        # Unreachable when the profile holds (subject, requester and insurance are required); kept so a
        # profile change can never turn into a 500.
        raise UnprocessableInput("The consult request lacks its patient, requester or insurance")

    if practice_agb != organisation.agb:
        # A client acts for exactly one practice (FHIR.md, Authentication).
        raise Forbidden("The requesting practice's AGB code is not the organisation this client is "
                        "registered for", expression="ServiceRequest.requester")

    addresses = [a for a in patient.resource.get("address", []) if isinstance(a, dict)]
    home = next((a for a in addresses if a.get("use") == "home"), addresses[0] if addresses else {})
    gp_intent_ext = _extension(resource, EXT_GP_INTENT)
    conversion_ext = _extension(resource, EXT_CONVERSION_AUTHORISED)
    category = _code_in(resource["category"], CS_REQUEST_CATEGORY)
    form = _code_in([resource["code"]], CS_CONSULT_FORM)
    allowed_specialisms = registry().value_set_codes(VS_REQUESTED_SPECIALISM)
    specialism = next(c.get("code") for c in resource["performerType"]["coding"]
                      if (c.get("system"), c.get("code")) in allowed_specialisms)
    if category is None or form is None:
        raise UnprocessableInput("The consult request lacks a known category or consult form")
    icpc_codes = [c["code"] for rc in resource["reasonCode"] for c in rc.get("coding", [])
                  if c.get("system") == dutch.ICPC_1_NL]
    patient_birth = birth_date(patient.resource)
    today = now.astimezone(AMSTERDAM).date()
    return ConsultFields(
        identifiers=[(i["system"], i["value"]) for i in resource["identifier"]],
        category=category,
        consult_form=form,
        specialism=specialism,
        priority=resource["priority"],
        authored_at=parse_instant(resource["authoredOn"]),
        gp_intent=_code_in([gp_intent_ext["valueCodeableConcept"]], CS_GP_INTENT) if gp_intent_ext else None,
        conversion_authorised=conversion_ext.get("valueBoolean") if conversion_ext else None,
        icpc_codes=icpc_codes,
        patient=patient.resource,
        patient_stored=patient.stored,
        patient_birth_date=patient_birth,
        patient_gender=patient.resource["gender"],
        patient_postcode=home.get("postalCode"),
        insurer_uzovi=uzovi,
        requester_agb=requester_agb,
        practice_agb=practice_agb,
        photo_count=photo_count,
        routing=RoutingRequest(
            specialism=specialism, icpc_codes=tuple(icpc_codes), age=age_on(patient_birth, today),
            sex=patient.resource["gender"], postcode=dutch.postcode_digits(home.get("postalCode")),
            insurer=uzovi, form=form, photo_count=photo_count, on=today, performer_agb=performer_agb,
            # A referral sent for triage goes to the profiles agreed for referral triage, not to the
            # meekijkconsult profiles (which the default category would pick).
            category=category),
    )


def _performer_agb(resource: dict[str, Any], resolver: Resolver, issues: list[Issue]) -> str | None:
    """The AGB of a specialist the GP asked for by name (ServiceRequest.performer), if any."""
    performers = resource.get("performer", [])
    if not performers:
        return None
    reference = performers[0]
    resolved = resolver.resolve(reference)
    target = resolved.resource if resolved else reference
    if target.get("resourceType") == "PractitionerRole":
        target = target.get("practitioner", {})
    identifiers = target.get("identifier", [])
    identifiers = identifiers if isinstance(identifiers, list) else [identifiers]
    agbs = [i.get("value") for i in identifiers if isinstance(i, dict) and i.get("system") == dutch.AGB]
    if not agbs or not dutch.is_valid_agb(str(agbs[0])):
        issues.append(Issue("value", f"A requested performer must identify the specialist by AGB code "
                                     f"({dutch.AGB})", "ServiceRequest.performer[0]"))
        return None
    return str(agbs[0])


def _photo_count(resource: dict[str, Any], resolver: Resolver, issues: list[Issue], limit: int) -> int:
    """Photos attached as supportingInfo DocumentReferences (the agreement may demand a minimum)."""
    photos = files = 0
    for index, reference in enumerate(resource.get("supportingInfo", [])):
        resolved = resolver.resolve(reference)
        if resolved is None or resolved.resource.get("resourceType") != "DocumentReference":
            continue
        for content in resolved.resource.get("content", []):
            attachment = content.get("attachment", {})
            if "data" in attachment:
                # Photo bytes go through the encrypted photo store, never into the request's own JSON.
                issues.append(Issue("not-supported", "Photos cannot be sent inline in a contained resource: "
                                    "POST them to /fhir/Binary or /fhir/DocumentReference and reference those",
                                    f"ServiceRequest.supportingInfo[{index}]"))
                continue
            files += 1
            if str(attachment.get("contentType", "")).startswith("image/"):
                photos += 1
    if files > limit:
        issues.append(Issue("too-costly", f"A consult may carry at most {limit} photos and documents ({files} "
                                          "attached)", "ServiceRequest.supportingInfo"))
    return photos


def _payor_uzovi(coverage: dict[str, Any], resolver: Resolver) -> str | None:
    for payor in coverage.get("payor", []):
        ident = payor.get("identifier") if isinstance(payor, dict) else None
        if isinstance(ident, dict) and ident.get("system") == dutch.UZOVI:
            value = str(ident.get("value", ""))
            return value if dutch.is_valid_uzovi(value) else None
        resolved = resolver.resolve(payor)
        if resolved is not None:
            values = identifier_values(resolved.resource, dutch.UZOVI)
            if values and dutch.is_valid_uzovi(values[0]):
                return values[0]
    return None


def find_consult_by_identifier(session: Session, organisation_id: str, system: str, value: str) -> Consult | None:
    return session.scalar(
        select(Consult).join(ConsultIdentifier).where(ConsultIdentifier.organisation_id == organisation_id,
                                                      ConsultIdentifier.system == system,
                                                      ConsultIdentifier.value == value))


def submit_consult(session: Session, actor: Actor, organisation: Organisation, client_pk: str,
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

    patient = fields.patient_stored or _patient_for(session, organisation.id, fields.patient, now)
    # The id is chosen here, so the stored resource carries it from the INSERT (no second UPDATE).
    consult_id = new_id()
    consult = Consult(
        id=consult_id, organisation_id=organisation.id, client_pk=client_pk, status=RequestStatus.ACTIVE,
        category=fields.category, consult_form=fields.consult_form, specialism=fields.specialism,
        priority=fields.priority, authored_at=fields.authored_at, gp_intent=fields.gp_intent,
        conversion_authorised=fields.conversion_authorised, icpc_codes=fields.icpc_codes,
        primary_icpc=fields.icpc_codes[0],
        patient_resource_id=patient.id, patient_birth_date=fields.patient_birth_date,
        patient_gender=fields.patient_gender, patient_postcode=fields.patient_postcode,
        insurer_uzovi=fields.insurer_uzovi, requester_agb=fields.requester_agb, photo_count=fields.photo_count,
        agreement_id=chosen.profile.agreement_id, profile_id=chosen.profile.profile_id, version_id=1,
        resource=stamp(resource, consult_id, 1, now, PROFILE_CONSULT_REQUEST), created_at=now, updated_at=now,
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
        raise Conflict(f"A consult with identifier {system}|{value} already exists (ServiceRequest/{winner.id}); "
                       "resubmit with If-None-Exist to retry safely", expression="ServiceRequest.identifier") from None
    notes = _record_flags(session, consult, outcome.flags, now)
    # Validated (received) and routed (accepted) in the same transaction: the GP sees the assignment at once.
    task = ConsultTask(consult_id=consult.id, organisation_id=organisation.id, status=TaskStatus.ACCEPTED,
                       business_status="likely-referral" if notes else "assigned", owner_kind=chosen.kind,
                       owner_agb=chosen.agb, owner_name=chosen.name, due_at=outcome.due, version_id=1,
                       urgent=fields.priority in URGENT_PRIORITIES,
                       likely_referral=bool(notes), flag_note="\n".join(notes) or None, created_at=now,
                       updated_at=now)
    session.add(task)
    record_decision(session, consult.id, outcome, now)
    # The photos it lists are this patient's from now on: later reads of them are audited under the patient.
    link_documents(session, organisation.id, patient.id, resource.get("supportingInfo", []),
                   {c["id"]: c for c in resource.get("contained", []) if isinstance(c, dict) and "id" in c})
    session.flush()
    record(session, actor, event="fhir.create", action=AuditAction.CREATE, resource_type="ServiceRequest",
           resource_id=consult.id, patient_ref=patient.id, at=now)
    record(session, actor, event="fhir.create", action=AuditAction.CREATE, resource_type="Task",
           resource_id=task.id, patient_ref=patient.id, at=now)
    record(session, actor, event="routing.assign", action=AuditAction.EXECUTE, resource_type="Task",
           resource_id=task.id, patient_ref=patient.id, at=now,
           detail=f"agreement={chosen.profile.agreement_code}; owner={chosen.kind}:{chosen.agb}")
    warnings = tuple(Issue("business-rule", note, "ServiceRequest", severity="warning") for note in notes)
    return Submission(consult, task, created=True, warnings=warnings)


def _record_flags(session: Session, consult: Consult, flags: list[FiredFlag], now: datetime) -> list[str]:
    """Store every fired flag with the conversion figure of similar consults; return them in words."""
    if not flags:
        return []
    total, converted = conversion_rate(session, consult.specialism, consult.primary_icpc)
    for flag in flags:
        session.add(ReferralFlag(consult_id=consult.id, kind=flag.kind, rule=flag.rule, reason=flag.reason,
                                 similar_total=total, similar_converted=converted, flagged_at=now))
    return [describe(flag, total, converted) for flag in flags]


def _patient_for(session: Session, organisation_id: str, patient: dict[str, Any], now: datetime) -> StoredResource:
    """The practice's Patient resource for a contained patient (matched on BSN, created if new).

    Giving every consult a server-side Patient makes ``Task.for``, the ``patient``
    search parameter and the audit trail's patient reference work the same for
    contained and referenced patients.
    """
    token = primary_identifier_token(patient)
    existing = session.scalar(select(StoredResource).where(
        StoredResource.organisation_id == organisation_id, StoredResource.resource_type == "Patient",
        StoredResource.identifier_token == token).limit(1))
    if existing is not None:
        return existing
    body = {k: v for k, v in patient.items() if k != "id"}
    rid = new_id()
    stored = StoredResource(id=rid, resource_type="Patient", organisation_id=organisation_id, identifier_token=token,
                            version_id=1, resource=stamp(body, rid, 1, now), created_at=now, updated_at=now)
    session.add(stored)
    session.flush()  # before the consult that refers to it
    return stored


def stamp(resource: dict[str, Any], rid: str, version: int, now: datetime,
          profile: str | None = None) -> dict[str, Any]:
    """The resource as we serve it: our id and meta (versionId, lastUpdated, profile)."""
    body = copy.deepcopy(resource)
    body["id"] = rid
    meta = {k: v for k, v in body.get("meta", {}).items() if k not in ("versionId", "lastUpdated")}
    meta["versionId"] = str(version)
    meta["lastUpdated"] = now.isoformat().replace("+00:00", "Z")
    if profile and profile not in meta.get("profile", []):
        meta["profile"] = [*meta.get("profile", []), profile]
    body["meta"] = meta
    return body
