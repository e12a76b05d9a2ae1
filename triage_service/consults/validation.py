"""Validating a consult request (FHIR.md "Interactions"): every check of the profile and the business rules,
all at once, returning the domain fields a consult is made of.

Nothing is stored here; :mod:`triage_service.consults.intake` accepts what passes. The routing preview for
administrators runs the same checks, so it can never admit a request the API would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.consults.patient_context import RequestContext, collect_context
from triage_service.errors import N_, Forbidden, UnprocessableInput
from triage_service.fhir import dutch
from triage_service.fhir.context import is_medication_list
from triage_service.fhir.profiles import CANONICAL_BASE, PROFILE_CONSULT_REQUEST, registry
from triage_service.models.consult import RequestStatus
from triage_service.models.organisation import Organisation, OrganisationKind
from triage_service.models.resource import StoredResource
from triage_service.outcome import Issue
from triage_service.records.resolution import Resolver
from triage_service.records.supporting import (
    birth_date,
    check_organization_agb,
    check_patient,
    identifier_issues,
    identifier_values,
    parse_instant,
)
from triage_service.routing.matching import RoutingRequest
from triage_service.routing.service import age_on
from triage_service.routing.working_time import AMSTERDAM

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
    #: A consult from an out-of-hours post: the AGB of the patient's own practice (Patient.generalPractitioner).
    patient_practice_agb: str | None
    photo_count: int
    #: The snapshot routing matches against the agreements.
    routing: RoutingRequest
    #: The patient's medication, allergies and measurements sent with it (consults/patient_context.py).
    context: RequestContext = RequestContext()  # noqa: RUF009 - frozen, so one shared empty default is safe



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
        issues.append(Issue("value", N_("A consult request is submitted with status 'active'"),
                            "ServiceRequest.status"))

    patient = resolver.resolve(resource.get("subject"))
    if patient is not None and patient.resource.get("resourceType") == "Patient":
        issues.extend(check_patient(patient.resource, patient.location or "ServiceRequest.subject"))
    authored = resource.get("authoredOn")
    if isinstance(authored, str) and parse_instant(authored) > now + CLOCK_SKEW:
        issues.append(Issue("value", N_("authoredOn lies in the future; send the moment the GP wrote the request"),
                            "ServiceRequest.authoredOn"))

    requester_agb = practice_agb = None
    role = resolver.resolve(resource.get("requester"))
    if role is not None and role.resource.get("resourceType") == "PractitionerRole":
        agb = _practitioner_agb(role.resource, resolver)
        if agb.get("system") != dutch.AGB or not dutch.is_valid_agb(str(agb.get("value", ""))):
            issues.append(Issue("required", N_("The requesting GP needs practitioner.identifier with system %(agb)s "
                                               "and an 8-digit AGB code"), "ServiceRequest.requester",
                                params={"agb": dutch.AGB}))
        else:
            requester_agb = str(agb["value"])
        practice = resolver.resolve(role.resource.get("organization"))
        if practice is None or practice.resource.get("resourceType") != "Organization":
            issues.append(Issue("required", N_("The requesting GP's PractitionerRole.organization must reference "
                                               "the practice (Organization with its AGB code)"),
                                "ServiceRequest.requester"))
        else:
            org_issues = check_organization_agb(practice.resource, "ServiceRequest.requester", N_("practice"))
            issues.extend(org_issues)
            if not org_issues:
                practice_agb = identifier_values(practice.resource, dutch.AGB)[0]

    uzovi = None
    coverage_refs = resource.get("insurance", [])
    coverage = resolver.resolve(coverage_refs[0]) if coverage_refs else None
    if coverage is not None and coverage.resource.get("resourceType") == "Coverage":
        uzovi = _payor_uzovi(coverage.resource, resolver)
        if uzovi is None:
            issues.append(Issue("required", N_("The Coverage needs a payor identified by its UZOVI code (%(uzovi)s, "
                                               "4 digits)"), "ServiceRequest.insurance[0]",
                                params={"uzovi": dutch.UZOVI}))

    performer_agb = _performer_agb(resource, resolver, issues)
    photo_count = _photo_count(resource, resolver, issues, max_attachments)
    context = collect_context(resource, resolver, now)
    issues.extend(context.issues)

    errors = [i for i in issues if i.is_error]
    if errors:
        raise UnprocessableInput(N_("The consult request does not meet the consult-request profile"),
                                 issues=errors)
    if patient is None or requester_agb is None or practice_agb is None or uzovi is None:
        # Unreachable when the profile holds (subject, requester and insurance are required); kept so a
        # profile change can never turn into a 500.
        raise UnprocessableInput(N_("The consult request lacks its patient, requester or insurance"))

    if practice_agb != organisation.agb:
        # A client acts for exactly one practice (FHIR.md, Authentication).
        raise Forbidden(N_("The requesting practice's AGB code is not the organisation this client is registered "
                           "for"), expression="ServiceRequest.requester")

    patient_practice_agb = None
    if organisation.kind is OrganisationKind.OUT_OF_HOURS_POST:
        # The post's patients belong to other practices; the advice must find its way to the patient's own GP.
        patient_practice_agb = own_practice_agb(patient.resource, resolver)
        where = f"{patient.location or 'Patient'}.generalPractitioner"
        if patient_practice_agb is None:
            params = {"system": dutch.AGB}
            raise UnprocessableInput(OWN_PRACTICE_NEEDED, params=params,
                                     issues=[Issue("required", OWN_PRACTICE_NEEDED, where, params=params)])
        known = session.scalar(select(Organisation.kind).where(Organisation.agb == patient_practice_agb))
        # A practice outside the region is fine (a patient on holiday); the post itself, an insurer or a hospital
        # is a mistake that would send the advice nowhere.
        if patient_practice_agb == organisation.agb or known not in (None, OrganisationKind.GP_PRACTICE):
            message = N_("AGB %(agb)s is not a GP practice: name the patient's own practice, not the "
                         "out-of-hours post or another kind of organisation")
            params = {"agb": patient_practice_agb}
            raise UnprocessableInput(message, params=params, issues=[Issue("value", message, where, params=params)])

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
        raise UnprocessableInput(N_("The consult request lacks a known category or consult form"))
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
        patient_practice_agb=patient_practice_agb,
        photo_count=photo_count,
        routing=RoutingRequest(
            specialism=specialism, icpc_codes=tuple(icpc_codes), age=age_on(patient_birth, today),
            sex=patient.resource["gender"], postcode=dutch.postcode_digits(home.get("postalCode")),
            insurer=uzovi, form=form, photo_count=photo_count, on=today, performer_agb=performer_agb,
            # A referral sent for triage goes to the profiles agreed for referral triage, not to the
            # meekijkconsult profiles (which the default category would pick).
            category=category, requester_kind=organisation.kind.value, requester_agb=organisation.agb,
            priority=resource["priority"], sent_at=now.astimezone(AMSTERDAM).time().replace(tzinfo=None)),
        context=context,
    )


OWN_PRACTICE_NEEDED = N_("A consult from an out-of-hours post names the patient's own GP practice: "
                         "Patient.generalPractitioner with the practice's 8-digit AGB code (%(system)s)")


def own_practice_agb(patient: dict[str, Any], resolver: Resolver) -> str | None:
    """The AGB of the patient's own practice: a logical reference (identifier) or a referenced Organization."""
    for reference in patient.get("generalPractitioner", []):
        if not isinstance(reference, dict):
            continue
        identifier = reference.get("identifier")
        if isinstance(identifier, dict) and identifier.get("system") == dutch.AGB \
                and dutch.is_valid_agb(str(identifier.get("value", ""))):
            return str(identifier["value"])
        target = resolver.resolve(reference) if "reference" in reference else None
        if target is not None and target.resource.get("resourceType") == "Organization":
            values = identifier_values(target.resource, dutch.AGB)
            if values and dutch.is_valid_agb(values[0]):
                return values[0]
    return None



def _practitioner_agb(role: dict[str, Any], resolver: Resolver) -> dict[str, Any]:
    """The requesting GP's AGB identifier, named in PractitionerRole.practitioner either way FHIR allows: a
    logical reference (``identifier``) or a reference to a Practitioner that carries it among its identifiers:
    contained in the PractitionerRole itself (a transaction entry), in the ServiceRequest holding the role, in
    the Bundle, or stored. Empty when neither names an AGB code."""
    practitioner = role.get("practitioner")
    if not isinstance(practitioner, dict):
        return {}
    if isinstance(practitioner.get("identifier"), dict):
        return dict(practitioner["identifier"])
    ref = practitioner.get("reference")
    own = [c for c in role.get("contained", []) if isinstance(c, dict) and isinstance(ref, str)
           and ref.startswith("#") and c.get("id") == ref[1:]] if isinstance(role.get("contained"), list) else []
    resolved = own[0] if own else getattr(resolver.resolve(practitioner), "resource", None)
    if not isinstance(resolved, dict) or resolved.get("resourceType") != "Practitioner":
        return {}
    identifiers = resolved.get("identifier", [])
    agbs = [i for i in identifiers if isinstance(i, dict) and i.get("system") == dutch.AGB] \
        if isinstance(identifiers, list) else []
    return dict(agbs[0]) if agbs else {}


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
        issues.append(Issue("value", N_("A requested performer must identify the specialist by AGB code (%(agb)s)"),
                      "ServiceRequest.performer[0]", params={"agb": dutch.AGB}))
        return None
    return str(agbs[0])



def _photo_count(resource: dict[str, Any], resolver: Resolver, issues: list[Issue], limit: int) -> int:
    """Photos attached as supportingInfo DocumentReferences (the agreement may demand a minimum)."""
    photos = files = 0
    for index, reference in enumerate(resource.get("supportingInfo", [])):
        resolved = resolver.resolve(reference)
        if resolved is None or resolved.resource.get("resourceType") != "DocumentReference" \
                or is_medication_list(resolved.resource):
            continue  # a medication list is text carried inline, not a file (consults/patient_context.py)
        for content in resolved.resource.get("content", []):
            attachment = content.get("attachment", {})
            if "data" in attachment:
                # Photo bytes go through the encrypted photo store, never into the request's own JSON.
                issues.append(Issue("not-supported", N_("Photos cannot be sent inline in a contained resource: POST "
                                                        "them to /fhir/Binary or /fhir/DocumentReference and reference "
                                                        "those"),
                                    f"ServiceRequest.supportingInfo[{index}]"))
                continue
            files += 1
            if str(attachment.get("contentType", "")).startswith("image/"):
                photos += 1
    if files > limit:
        issues.append(Issue("too-costly", N_("A consult may carry at most %(limit)s photos and documents (%(files)s "
                                             "attached)"), "ServiceRequest.supportingInfo",
                            params={"limit": limit, "files": files}))
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
