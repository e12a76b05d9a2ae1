"""The patient's context with a consult (issue 23, point 5): found in the request, checked, required by the
agreement, kept encrypted, and shown to the specialist.

The rules of each resource are fhir/context.py's; this module applies them to a request as the intake sees
it: :func:`collect_context` walks ``ServiceRequest.supportingInfo`` (contained resources, or entries of the
same transaction Bundle, resolved by records/resolution.py), :func:`require_context` holds the kinds found
against what the routed agreement requires for the consult form (agreements/context_terms.py), and
:func:`store_context` keeps each resource as a :class:`~triage_service.models.ConsultContextItem` in the
intake's transaction: a refused request stores nothing of it. :func:`context_tables` is what the inbox shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.errors import N_, UnprocessableInput
from triage_service.fhir import context as rules
from triage_service.fhir.dutch import BSN
from triage_service.fhir.meta import stamp
from triage_service.models import AuditAction, Consult, ConsultContextItem
from triage_service.outcome import Issue, Message
from triage_service.records.resolution import Resolver

#: What each kind is called when it is missing (FHIR diagnostics name the resource a GP system sends).
KIND_NAMES = {
    "medication": N_("the current medication (MedicationStatement, or a medication list as a DocumentReference "
                     "of type LOINC 10160-0)"),
    "allergies": N_("the allergies (AllergyIntolerance)"),
    "blood-pressure": N_("a blood pressure (Observation, LOINC 85354-9)"),
    "hba1c": N_("an HbA1c (Observation, LOINC 4548-4 or 59261-8)"),
    "egfr": N_("an eGFR (Observation, LOINC 62238-1 or 33914-3)"),
    "weight": N_("a body weight (Observation, LOINC 29463-7)"),
    "bmi": N_("a BMI (Observation, LOINC 39156-5)"),
    "ecg": N_("an ECG (DocumentReference of type LOINC 11524-6 with a PDF)"),
}
MISSING = N_("Agreement %(agreement)s requires %(what)s with a consult of this form (%(form)s): send it as "
             "ServiceRequest.supportingInfo")


@dataclass(frozen=True)
class ContextItem:
    """One context resource of a request, checked."""

    resource: dict[str, Any]
    kind: str
    position: int
    #: The local id of a contained resource; None for a Bundle entry.
    contained_id: str | None
    #: The server id a Bundle entry was given (its reference is "{type}/{id}"); None when contained.
    rid: str | None


@dataclass(frozen=True)
class RequestContext:
    items: tuple[ContextItem, ...] = ()
    #: Every kind the request carries, also an ECG (a document the attachment store keeps, not an item).
    kinds: frozenset[str] = frozenset()
    issues: tuple[Issue, ...] = field(default=(), hash=False)


def collect_context(resource: dict[str, Any], resolver: Resolver, now: datetime) -> RequestContext:
    """The context resources ``ServiceRequest.supportingInfo`` points at, with every rule they break."""
    subject = resource.get("subject")
    subject_ref = subject.get("reference") if isinstance(subject, dict) else None
    patient = resolver.resolve(subject)
    bsns = [i.get("value") for i in (patient.resource.get("identifier") or []) if isinstance(i, dict)
            and i.get("system") == BSN] if patient is not None else []
    items: list[ContextItem] = []
    kinds: set[str] = set()
    issues: list[Issue] = []
    references = resource.get("supportingInfo")
    for position, reference in enumerate(references if isinstance(references, list) else []):
        resolved = resolver.resolve(reference)
        if resolved is None or not isinstance(resolved.resource, dict):
            continue  # the profile says it cannot be resolved
        found = resolved.resource
        if rules.is_ecg(found):
            kinds.add("ecg")
            continue
        if not rules.is_context_resource(found):
            continue
        where = resolved.location or f"ServiceRequest.supportingInfo[{position}]"
        problems = rules.context_issues(found, where, now, subject_ref)
        if problems and subject_ref is not None and _names_by_bsn(found, bsns):
            # A Bundle entry cannot point at a patient contained in the request: the BSN names it as well.
            problems = [p for p in problems if not p.expression or not p.expression.endswith((".subject", ".patient"))]
        issues.extend(problems)
        kind = rules.kind_of(found)
        if kind is None or problems:
            continue
        kinds.add(kind)
        ref = str(reference["reference"])
        items.append(ContextItem(found, kind, position, ref[1:] if ref.startswith("#") else None,
                                 None if ref.startswith("#") else ref.split("/", 1)[1]))
    return RequestContext(tuple(items), frozenset(kinds), tuple(issues))


def _names_by_bsn(resource: dict[str, Any], bsns: list[Any]) -> bool:
    reference = resource.get("patient" if resource.get("resourceType") == "AllergyIntolerance" else "subject")
    identifier = reference.get("identifier") if isinstance(reference, dict) else None
    return isinstance(identifier, dict) and identifier.get("system") == BSN and identifier.get("value") in bsns


def missing_context(required: Mapping[str, Any], form: str, kinds: Iterable[str]) -> list[str]:
    """The kinds an agreement requires for this consult form (``Agreement.context_required``, as the routing
    table keeps it) that the request does not carry, in the agreement's order."""
    present = set(kinds)
    return [str(kind) for kind in required.get(form, []) if kind not in present]


def require_context(required: Mapping[str, Any], agreement_code: str, form: str, kinds: Iterable[str]) -> None:
    """Refuse a consult without the context its agreement requires for its form, naming each missing kind."""
    missing = missing_context(required, form, kinds)
    if not missing:
        return
    raise UnprocessableInput(MISSING, params={"agreement": agreement_code, "what": Message(KIND_NAMES[missing[0]]),
                                              "form": form},
                             issues=[Issue("required", MISSING, "ServiceRequest.supportingInfo",
                                           params={"agreement": agreement_code, "what": Message(KIND_NAMES[kind]),
                                                   "form": form, "kind": kind}) for kind in missing])


def store_context(session: Session, actor: Actor, consult: Consult, context: RequestContext, now: datetime) -> None:
    """Keep the request's context with the consult (in the intake's transaction). A resource sent as its own
    Bundle entry is a resource of its own, so its creation is audited as such; a contained one is part of the
    ServiceRequest, whose creation the intake audits."""
    for item in context.items:
        row = ConsultContextItem(consult_id=consult.id, organisation_id=consult.organisation_id,
                                 resource_type=str(item.resource["resourceType"]), kind=item.kind,
                                 position=item.position, contained_id=item.contained_id, created_at=now,
                                 resource=item.resource)
        if item.rid is not None:
            row.id = item.rid
            row.resource = stamp({k: v for k, v in item.resource.items() if k != "id"}, item.rid, 1, now)
        session.add(row)
        if item.rid is not None:
            record(session, actor, event="fhir.create", action=AuditAction.CREATE, resource_type=row.resource_type,
                   resource_id=item.rid, patient_ref=consult.patient_resource_id, at=now)


def kept_context(session: Session, consult_id: str) -> dict[int, ConsultContextItem]:
    """The consult's context resources sent as Bundle entries, by their place in ServiceRequest.supportingInfo."""
    rows = session.scalars(select(ConsultContextItem).where(ConsultContextItem.consult_id == consult_id,
                                                            ConsultContextItem.contained_id.is_(None)))
    return {row.position: row for row in rows}


def find_context_resource(session: Session, organisation_id: str, resource_type: str,
                          rid: str) -> ConsultContextItem | None:
    """A context resource sent as its own Bundle entry, of the caller's organisation (contained ones are read
    with their ServiceRequest)."""
    return session.scalar(select(ConsultContextItem).where(
        ConsultContextItem.id == rid, ConsultContextItem.resource_type == resource_type,
        ConsultContextItem.organisation_id == organisation_id, ConsultContextItem.contained_id.is_(None)))


# -- what the inbox shows ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Measurement:
    kind: str
    value: str
    unit: str
    measured: date | datetime | None


@dataclass(frozen=True)
class Medicine:
    name: str
    dosage: str
    status: str
    #: The period of use, either end may be unknown.
    start: date | datetime | None
    end: date | datetime | None


@dataclass(frozen=True)
class Allergy:
    substance: str
    criticality: str
    reaction: str
    none_known: bool


@dataclass(frozen=True)
class ContextTables:
    measurements: list[Measurement]
    medicines: list[Medicine]
    #: Medication lists sent as text, as the GP system wrote them.
    medication_lists: list[str]
    allergies: list[Allergy]
    #: The request carries an ECG (among its documents).
    ecg: bool

    @property
    def empty(self) -> bool:
        return not (self.measurements or self.medicines or self.medication_lists or self.allergies or self.ecg)


def context_tables(session: Session, consult: Consult) -> ContextTables:
    """The consult's context as the specialist reads it: measurements, medication and allergies."""
    rows = session.scalars(select(ConsultContextItem).where(ConsultContextItem.consult_id == consult.id)
                           .order_by(ConsultContextItem.position, ConsultContextItem.id)).all()
    measurements, medicines, lists, allergies = [], [], [], []
    for row in rows:
        resource = row.resource
        if row.kind == "medication" and row.resource_type == "DocumentReference":
            lists.append(rules.list_text(resource) or "")
        elif row.kind == "medication":
            medicines.append(_medicine(resource))
        elif row.kind == "allergies":
            allergies.append(_allergy(resource))
        else:
            measurements.append(_measurement(row.kind, resource))
    measurements.sort(key=lambda m: (rules.KINDS.index(m.kind), -_stamp(m.measured)))
    return ContextTables(measurements, medicines, lists, allergies, ecg=_has_ecg(session, consult))


def _has_ecg(session: Session, consult: Consult) -> bool:
    resource = consult.resource
    resolver = Resolver(session, consult.organisation_id, resource)
    return any(rules.is_ecg(found.resource) for found in (resolver.resolve(r) for r in
                                                           resource.get("supportingInfo", [])) if found)


def _stamp(moment: date | datetime | None) -> float:
    if moment is None:
        return 0.0
    if isinstance(moment, datetime):
        return moment.timestamp()
    return datetime(moment.year, moment.month, moment.day).timestamp()


def _text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    if isinstance(concept.get("text"), str):
        return str(concept["text"])
    return next((str(c["display"]) for c in concept.get("coding", []) if isinstance(c, dict) and "display" in c), "")


def _when(value: Any) -> date | datetime | None:
    if isinstance(value, dict):
        value = value.get("end") or value.get("start")
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if len(value) > 10 else date.fromisoformat(value)
    except ValueError:
        return None


def _measurement(kind: str, resource: dict[str, Any]) -> Measurement:
    when = _when(resource.get("effectiveDateTime") or resource.get("effectivePeriod")
                 or resource.get("effectiveInstant"))
    if kind == "blood-pressure":
        values = {code: c.get("valueQuantity", {}).get("value") for c in resource.get("component", [])
                  for code in rules.codes(c.get("code"), rules.LOINC)}
        return Measurement(kind, f"{_figure(values.get(rules.SYSTOLIC))}/{_figure(values.get(rules.DIASTOLIC))}",
                           "mmHg", when)
    quantity = resource.get("valueQuantity", {})
    comparator = str(quantity.get("comparator", ""))
    unit = str(quantity.get("code", ""))
    return Measurement(kind, f"{comparator}{_figure(quantity.get('value'))}",
                       "ml/min/1,73 m²" if unit == "mL/min/{1.73_m2}" else "kg/m²" if unit == "kg/m2" else unit, when)


def _figure(value: Any) -> str:
    """A number as a Dutch reader writes it (decimal comma)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "?"
    return f"{value:g}".replace(".", ",")


def _medicine(resource: dict[str, Any]) -> Medicine:
    dosage = "; ".join(str(d["text"]) for d in resource.get("dosage", []) if isinstance(d, dict) and "text" in d)
    period = resource.get("effectivePeriod") or {}
    return Medicine(_text(resource.get("medicationCodeableConcept")), dosage, str(resource.get("status", "")),
                    _when(period.get("start") or resource.get("effectiveDateTime")), _when(period.get("end")))


def _allergy(resource: dict[str, Any]) -> Allergy:
    reactions = [_text(m) for r in resource.get("reaction", []) if isinstance(r, dict)
                 for m in r.get("manifestation", [])]
    none_known = rules.NO_KNOWN_ALLERGY in rules.codes(resource.get("code"), rules.SNOMED)
    return Allergy(_text(resource.get("code")), str(resource.get("criticality", "")),
                   ", ".join(filter(None, reactions)), none_known)
