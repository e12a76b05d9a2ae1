"""The patient's context sent with a consult (issue 23, point 5): what it is, and the rules it must meet.

A GP system sends the patient's current medication, allergies and recent measurements as
``ServiceRequest.supportingInfo``, contained in the request or as entries of the same transaction Bundle,
in the shapes of the Dutch zibs (Nictiz, zib 2020 / nl-core):

- **MedicationStatement** (zib MedicationUse2, *medicatiegebruik*): ``medicationCodeableConcept`` with a
  G-Standaard coding (HPK, PRK, GPK or ZI number) and/or ``text``; ``dosage[].text`` (*gebruiksinstructie*),
  ``status`` and ``effectivePeriod`` (*gebruiksperiode*).
- **AllergyIntolerance** (zib AllergyIntolerance, *allergie/intolerantie*): ``code`` (the substance, SNOMED CT
  or G-Standaard, and/or text), ``criticality``, ``reaction[].manifestation``.
- **Observation** for measurements (zib BloodPressure, LaboratoryTestResult, BodyWeight, BodyMassIndex):
  blood pressure as LOINC 85354-9 with the systolic (8480-6) and diastolic (8462-4) components in mm[Hg];
  HbA1c as LOINC 4548-4 in % or 59261-8 in mmol/mol; eGFR as LOINC 62238-1 or 33914-3 in mL/min/{1.73_m2};
  body weight 29463-7 in kg; BMI 39156-5 in kg/m2. Units are UCUM (http://unitsofmeasure.org).
- A **medication list as text** (the HIS's *medicatieoverzicht* pasted or printed as it is): a
  DocumentReference whose type is LOINC 10160-0 (History of Medication use Narrative) with a ``text/plain``
  attachment carried inline (``data``). A list of several medicines is one document, not one
  MedicationStatement: a MedicationStatement is the use of *one* medicine, and a receiving system that files
  MedicationStatements would otherwise file the whole list as one "medicine". See consults/context_form.py.
- An **ECG** is a document the GP system already sends as a photo or document: a DocumentReference whose
  ``type`` is LOINC 11524-6 (EKG study) with a PDF attachment (uploaded as a Binary like any document).

fhir/parsing.py checks the structure of each (with fhir.resources, also inside ``contained``); this module
adds what FHIR leaves open and a specialist needs: the elements that must be there, known codes and units,
plausible values (a systolic pressure of 900 mm[Hg] is a typing error, not a patient) and a date that does
not lie in the future. Diagnostics never echo a value: values are patient data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from triage_service.errors import N_
from triage_service.fhir.json_rules import decode_base64_strict
from triage_service.outcome import Issue

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
#: G-Standaard (Z-Index) code systems a Dutch HIS codes medication in: HPK, PRK, GPK, ZI number.
G_STANDAARD = ("urn:oid:2.16.840.1.113883.2.4.4.10", "urn:oid:2.16.840.1.113883.2.4.4.1",
               "urn:oid:2.16.840.1.113883.2.4.4.7", "urn:oid:2.16.840.1.113883.2.4.4.8")

BLOOD_PRESSURE, SYSTOLIC, DIASTOLIC = "85354-9", "8480-6", "8462-4"
HBA1C_PERCENT, HBA1C_MMOL = "4548-4", "59261-8"
EGFR_CODES = ("62238-1", "33914-3")
BODY_WEIGHT, BMI = "29463-7", "39156-5"
MEDICATION_LIST = "10160-0"
ECG = "11524-6"
NO_KNOWN_ALLERGY = "716186003"  # SNOMED CT: No known allergy

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

#: The kinds of context an agreement can require and the inbox shows, by stored code.
KINDS = ("medication", "allergies", "blood-pressure", "hba1c", "egfr", "weight", "bmi", "ecg")
#: The resource types that carry context (besides DocumentReference: the medication list, an ECG).
CONTEXT_TYPES = ("MedicationStatement", "AllergyIntolerance", "Observation")

#: Clocks of GP systems drift: a measurement a few minutes "in the future" is still genuine (as authoredOn).
CLOCK_SKEW = timedelta(minutes=5)
#: Rules other doors place beside their own fields (consults/context_form.py).
FUTURE_DATE = N_("This date lies in the future; send when it was measured or recorded")
PRESSURE_ORDER = N_("The systolic pressure must be higher than the diastolic pressure")
#: A pasted medication list longer than this is not a list a specialist reads.
MAX_LIST_CHARACTERS = 20_000


@dataclass(frozen=True)
class Measure:
    """A measured quantity: its LOINC code, the one UCUM unit accepted, and the plausible range."""

    kind: str
    unit: str
    low: float
    high: float


#: Single-valued measurements by LOINC code. The ranges are wide (what a living patient can have), so only
#: typing errors and wrong units are refused: an HbA1c of 53 sent as % is mmol/mol, an eGFR of 0 is none.
MEASURES = {
    HBA1C_PERCENT: Measure("hba1c", "%", 3, 20),
    HBA1C_MMOL: Measure("hba1c", "mmol/mol", 10, 200),
    EGFR_CODES[0]: Measure("egfr", "mL/min/{1.73_m2}", 1, 250),
    EGFR_CODES[1]: Measure("egfr", "mL/min/{1.73_m2}", 1, 250),
    BODY_WEIGHT: Measure("weight", "kg", 0.5, 400),
    BMI: Measure("bmi", "kg/m2", 8, 100),
}
#: The blood pressure's components and their plausible ranges in mm[Hg].
PRESSURES = {SYSTOLIC: (50.0, 300.0), DIASTOLIC: (20.0, 200.0)}


def codes(concept: Any, system: str) -> list[str]:
    """The codes of ``system`` in a CodeableConcept."""
    if not isinstance(concept, dict):
        return []
    return [str(c["code"]) for c in concept.get("coding", [])
            if isinstance(c, dict) and c.get("system") == system and isinstance(c.get("code"), str)]


def is_medication_list(resource: dict[str, Any]) -> bool:
    return resource.get("resourceType") == "DocumentReference" and MEDICATION_LIST in codes(resource.get("type"), LOINC)


def is_ecg(resource: dict[str, Any]) -> bool:
    """An ECG document: type LOINC 11524-6 and a PDF (the agreement's "ecg")."""
    return (resource.get("resourceType") == "DocumentReference" and ECG in codes(resource.get("type"), LOINC)
            and any(isinstance(c, dict) and (c.get("attachment") or {}).get("contentType") == "application/pdf"
                    for c in resource.get("content", [])))


def is_context_resource(resource: dict[str, Any]) -> bool:
    """Context kept with the consult (not a photo or document of the attachment store)."""
    return resource.get("resourceType") in CONTEXT_TYPES or is_medication_list(resource)


def kind_of(resource: dict[str, Any]) -> str | None:
    """The kind of context a (valid) resource is, or None for a resource that is not context."""
    rtype = resource.get("resourceType")
    if rtype == "MedicationStatement" or is_medication_list(resource):
        return "medication"
    if rtype == "AllergyIntolerance":
        return "allergies"
    if rtype == "Observation":
        loinc = codes(resource.get("code"), LOINC)
        if BLOOD_PRESSURE in loinc:
            return "blood-pressure"
        return next((MEASURES[c].kind for c in loinc if c in MEASURES), None)
    return "ecg" if is_ecg(resource) else None


def context_issues(resource: dict[str, Any], where: str, now: datetime, subject: str | None) -> list[Issue]:
    """Every rule a context resource breaks; ``where`` is its FHIRPath (``ServiceRequest.contained[4]``),
    ``subject`` the reference the consult's patient is named by (the resource must name the same patient)."""
    rtype = resource.get("resourceType")
    if rtype == "Observation":
        issues = _observation(resource, where, now)
        patient_element = "subject"
    elif rtype == "MedicationStatement":
        issues = _medication(resource, where, now)
        patient_element = "subject"
    elif rtype == "AllergyIntolerance":
        issues = _allergy(resource, where, now)
        patient_element = "patient"
    elif is_medication_list(resource):
        issues = _medication_list(resource, where, now)
        patient_element = "subject"
    else:
        return []
    reference = resource.get(patient_element)
    named = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(named, str):
        issues.append(Issue("required", N_("%(rtype)s.%(element)s must name the consult's patient (the same "
                                           "reference as ServiceRequest.subject)"), f"{where}.{patient_element}",
                            params={"rtype": rtype, "element": patient_element}))
    elif subject is not None and named != subject:
        issues.append(Issue("business-rule", N_("%(rtype)s.%(element)s names another patient than the consult "
                                                "(ServiceRequest.subject)"), f"{where}.{patient_element}",
                            params={"rtype": rtype, "element": patient_element}))
    return issues


def _observation(resource: dict[str, Any], where: str, now: datetime) -> list[Issue]:
    issues: list[Issue] = []
    if resource.get("status") not in ("final", "amended", "corrected"):
        issues.append(Issue("value", N_("A measurement is sent with status final (or amended, corrected): a "
                                        "preliminary or cancelled result is not context for a consult"),
                            f"{where}.status"))
    issues.extend(_moment(resource, ("effectiveDateTime", "effectivePeriod", "effectiveInstant"), where, now,
                          required=True))
    loinc = codes(resource.get("code"), LOINC)
    if BLOOD_PRESSURE in loinc:
        issues.extend(_blood_pressure(resource, where))
    elif any(c in MEASURES for c in loinc):
        code = next(c for c in loinc if c in MEASURES)
        issues.extend(_quantity(resource.get("valueQuantity"), MEASURES[code].unit, MEASURES[code].low,
                                MEASURES[code].high, f"{where}.valueQuantity"))
    else:
        issues.append(Issue("code-invalid", N_("Observation.code needs a LOINC coding of a measurement this service "
                                               "accepts: %(codes)s"), f"{where}.code",
                            params={"codes": ", ".join((BLOOD_PRESSURE, *MEASURES))}))
    return issues


def _blood_pressure(resource: dict[str, Any], where: str) -> list[Issue]:
    issues: list[Issue] = []
    if "valueQuantity" in resource:
        issues.append(Issue("structure", N_("A blood pressure carries its values in component (systolic 8480-6, "
                                            "diastolic 8462-4), not in valueQuantity"), f"{where}.valueQuantity"))
    components = [c for c in resource.get("component", []) if isinstance(c, dict)]
    values: dict[str, float] = {}
    for code, (low, high) in PRESSURES.items():
        found = [(i, c) for i, c in enumerate(components) if code in codes(c.get("code"), LOINC)]
        if len(found) != 1:
            issues.append(Issue("required", N_("A blood pressure needs exactly one component with LOINC code "
                                               "%(code)s"), f"{where}.component", params={"code": code}))
            continue
        index, component = found[0]
        expr = f"{where}.component[{index}].valueQuantity"
        problems = _quantity(component.get("valueQuantity"), "mm[Hg]", low, high, expr)
        issues.extend(problems)
        if not problems:
            values[code] = float(component["valueQuantity"]["value"])
    if len(values) == 2 and values[SYSTOLIC] <= values[DIASTOLIC]:
        issues.append(Issue("value", PRESSURE_ORDER, f"{where}.component"))
    return issues


def _quantity(quantity: Any, unit: str, low: float, high: float, expr: str) -> list[Issue]:
    if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float) \
            or isinstance(quantity.get("value"), bool):
        return [Issue("required", N_("The measured value is required, as a Quantity in %(unit)s"), expr,
                      params={"unit": unit})]
    if quantity.get("system") != UCUM or quantity.get("code") != unit:
        return [Issue("code-invalid", N_("The unit must be UCUM code %(unit)s (system %(system)s)"), f"{expr}.code",
                      params={"unit": unit, "system": UCUM})]
    # A comparator (">90" for an eGFR above the lab's range) still needs a plausible number.
    if not low <= float(quantity["value"]) <= high:
        return [Issue("value", N_("The value is not plausible in %(unit)s (expected %(low)s to %(high)s): check "
                                  "the value and the unit"), f"{expr}.value",
                      params={"unit": unit, "low": _number(low), "high": _number(high)})]
    return []


def _number(value: float) -> str:
    return f"{value:g}"


def _medication(resource: dict[str, Any], where: str, now: datetime) -> list[Issue]:
    issues: list[Issue] = []
    if "medicationReference" in resource:
        issues.append(Issue("not-supported", N_("Send the medicine as medicationCodeableConcept (a G-Standaard "
                                                "coding and/or text), not as a reference to a Medication"),
                            f"{where}.medicationReference"))
    else:
        concept = resource.get("medicationCodeableConcept")
        if not _readable(concept, G_STANDAARD):
            issues.append(Issue("required", N_("The medicine needs text or a G-Standaard coding with its display, "
                                               "so the specialist can read it"), f"{where}.medicationCodeableConcept"))
    if resource.get("status") in ("entered-in-error", "not-taken"):
        issues.append(Issue("value", N_("Send the medication the patient uses or used (status active, completed, "
                                        "intended, on-hold or stopped)"), f"{where}.status"))
    for index, dosage in enumerate(resource.get("dosage", [])):
        if isinstance(dosage, dict) and not isinstance(dosage.get("text"), str):
            issues.append(Issue("required", N_("Each dosage needs its instructions as text (the zib's "
                                               "gebruiksinstructie)"), f"{where}.dosage[{index}].text"))
    issues.extend(_moment(resource, ("effectiveDateTime",), where, now))
    period = resource.get("effectivePeriod")
    if isinstance(period, dict) and resource.get("status") != "intended":
        issues.extend(_not_future(period.get("start"), f"{where}.effectivePeriod.start", now))
    issues.extend(_not_future(resource.get("dateAsserted"), f"{where}.dateAsserted", now))
    return issues


def _allergy(resource: dict[str, Any], where: str, now: datetime) -> list[Issue]:
    issues: list[Issue] = []
    if not _readable(resource.get("code"), (SNOMED, *G_STANDAARD)):
        issues.append(Issue("required", N_("The allergy needs its substance as text or as a SNOMED CT or "
                                           "G-Standaard coding with its display"), f"{where}.code"))
    if "entered-in-error" in codes(resource.get("verificationStatus"),
                                   "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"):
        issues.append(Issue("value", N_("An allergy entered in error is not context for a consult"),
                            f"{where}.verificationStatus"))
    for index, reaction in enumerate(resource.get("reaction", [])):
        manifestations = reaction.get("manifestation", []) if isinstance(reaction, dict) else []
        if not any(_readable(m, (SNOMED,)) for m in manifestations):
            issues.append(Issue("required", N_("A reaction needs its manifestation as text or as a SNOMED CT coding "
                                               "with its display"), f"{where}.reaction[{index}].manifestation"))
    issues.extend(_not_future(resource.get("recordedDate"), f"{where}.recordedDate", now))
    issues.extend(_not_future(resource.get("onsetDateTime"), f"{where}.onsetDateTime", now))
    return issues


def _medication_list(resource: dict[str, Any], where: str, now: datetime) -> list[Issue]:
    contents = [c for c in resource.get("content", []) if isinstance(c, dict)]
    if len(contents) != 1:
        return [Issue("structure", N_("A medication list carries exactly one text/plain attachment"),
                      f"{where}.content")]
    attachment = contents[0].get("attachment") or {}
    expr = f"{where}.content[0].attachment"
    issues: list[Issue] = []
    content_type = str(attachment.get("contentType", "")).replace(" ", "").lower()
    if content_type not in ("text/plain", "text/plain;charset=utf-8"):
        issues.append(Issue("value", N_("A medication list is plain text: contentType text/plain; charset=utf-8"),
                            f"{expr}.contentType"))
    if resource.get("status") != "current":
        issues.append(Issue("value", N_("A medication list is sent with status current"), f"{where}.status"))
    text = list_text(resource)
    if text is None:
        issues.append(Issue("required", N_("A medication list carries its text inline in data (base64 of UTF-8 "
                                           "text)"), f"{expr}.data"))
    elif not text.strip():
        issues.append(Issue("required", N_("The medication list is empty"), f"{expr}.data"))
    elif len(text) > MAX_LIST_CHARACTERS:
        issues.append(Issue("too-costly", N_("A medication list may be at most %(limit)s characters long"),
                            f"{expr}.data", params={"limit": MAX_LIST_CHARACTERS}))
    issues.extend(_not_future(resource.get("date"), f"{where}.date", now))
    return issues


def list_text(resource: dict[str, Any]) -> str | None:
    """The text of a medication list document, or None when it carries none that decodes as UTF-8."""
    for content in resource.get("content", []):
        data = (content.get("attachment") or {}).get("data") if isinstance(content, dict) else None
        if isinstance(data, str):
            try:
                return decode_base64_strict(data).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return None
    return None


def _readable(concept: Any, systems: tuple[str, ...]) -> bool:
    """Text, or a coding of one of ``systems`` with its display: something a person can read."""
    if not isinstance(concept, dict):
        return False
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return True
    return any(isinstance(c, dict) and c.get("system") in systems and isinstance(c.get("display"), str)
               for c in concept.get("coding", []))


def _moment(resource: dict[str, Any], elements: tuple[str, ...], where: str, now: datetime,
            required: bool = False) -> list[Issue]:
    present = [e for e in elements if e in resource]
    if not present:
        if required:
            return [Issue("required", N_("When it was measured is required (effectiveDateTime, as a full date)"),
                          f"{where}.effective")]
        return []
    element = present[0]
    value = resource[element]
    if isinstance(value, dict):  # a Period: when it ended, or began
        value = value.get("end") or value.get("start")
        if not isinstance(value, str):
            return [Issue("required", N_("The period needs a start or an end"), f"{where}.{element}")]
    if required and isinstance(value, str) and len(value) < 10:
        return [Issue("value", N_("Give the full date of the measurement (YYYY-MM-DD), not only a year or month"),
                      f"{where}.{element}")]
    return _not_future(value, f"{where}.{element}", now)


def _not_future(value: Any, expr: str, now: datetime) -> list[Issue]:
    """A FHIR date or dateTime (already checked for form by fhir/parsing.py) that must not lie in the future."""
    if not isinstance(value, str) or len(value) < 4:
        return []
    try:
        if len(value) > 10:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            future = moment.tzinfo is not None and moment > now + CLOCK_SKEW
        else:
            parts = [int(p) for p in value.split("-")]
            day = date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
            # A date without a time is a Dutch day: compare it with today as the GP's clock says it.
            future = day > (now + CLOCK_SKEW).astimezone(AMSTERDAM).date()
    except ValueError:
        return []  # not a date at all: the structural check says so
    if future:
        return [Issue("value", FUTURE_DATE, expr)]
    return []
