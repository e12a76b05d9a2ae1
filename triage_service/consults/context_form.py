"""The portal's section "Medicatie, allergieën en metingen": the patient's context typed or pasted by the GP,
written as the FHIR a GP system sends (fhir/context.py) and checked by the same rules.

The measurements a consultant asks for most (blood pressure, HbA1c, eGFR) are rows with a value and a date;
allergies are rows of a substance and its reaction, or a tick for "no known allergies" (SNOMED CT 716186003);
the medication is the HIS's medication overview pasted as it is.

Why the pasted medication becomes one DocumentReference (LOINC 10160-0, History of Medication use Narrative,
``text/plain``) rather than one MedicationStatement with free text: what a GP pastes is a *list* (several
medicines, each with its dose and instructions, often with the HIS's header and stop dates), and a
MedicationStatement is the use of *one* medicine: a specialist's system that files MedicationStatements would
file the whole list as a single "medicine" named with ten lines. A narrative document is what the text is,
it is what a HIS without structured medication export sends (its printed medicatieoverzicht), and the
specialist reads it best as the GP's system laid it out: line by line, in a fixed-width font, unchanged. A HIS
that has the structured zib MedicationUse2 sends MedicationStatements instead, and the inbox shows those as a
table.

The form's values are checked when the consult is sent, as the rest of the draft is: the numbers and dates
here, the plausibility and the future by fhir/context.py's rules on the resources built from them, so the
portal cannot accept what the API would refuse.
"""

from __future__ import annotations

import base64
import re
from datetime import date, datetime
from typing import Any

from triage_service.errors import N_
from triage_service.fhir import context as rules
from triage_service.outcome import Message

#: The section's fields in ConsultDraft.form (saved with the draft, encrypted like the rest of it).
FIELDS = ("ctx_bp_systolic", "ctx_bp_diastolic", "ctx_bp_date", "ctx_hba1c", "ctx_hba1c_unit", "ctx_hba1c_date",
          "ctx_egfr", "ctx_egfr_date", "ctx_allergy_1", "ctx_reaction_1", "ctx_allergy_2", "ctx_reaction_2",
          "ctx_allergy_3", "ctx_reaction_3", "ctx_no_allergies", "ctx_medication")
ALLERGY_ROWS = 3
#: How long a pasted medication list may be in the portal.
MAX_MEDICATION = 10_000

#: Where the agreement's missing kind is shown, and what it says there.
KIND_FIELDS = {"blood-pressure": "ctx_bp_systolic", "hba1c": "ctx_hba1c", "egfr": "ctx_egfr",
               "medication": "ctx_medication", "allergies": "ctx_allergy_1", "ecg": "ctx_ecg"}
KIND_LABELS = {
    "blood-pressure": N_("a blood pressure"), "hba1c": N_("an HbA1c"), "egfr": N_("an eGFR"),
    "medication": N_("the current medication"),
    "allergies": N_("the allergies (or tick that none are known)"), "ecg": N_("an ECG as a PDF"),
    "weight": N_("a body weight"), "bmi": N_("a BMI"),
}
REQUIRED = N_("The agreement asks for %(what)s with this consult form")

NOT_A_NUMBER = N_("Enter a number, e.g. 140 or 52,5")
DATE_NEEDED = N_("Enter the date it was measured")
BOTH_PRESSURES = N_("Enter both the upper (systolic) and the lower (diastolic) pressure")
IN_FUTURE = N_("This date lies in the future: enter when it was measured")
NOT_PLAUSIBLE = N_("This value is not plausible: expected %(low)s to %(high)s %(unit)s")
PRESSURE_ORDER = N_("The upper pressure (systolic) must be higher than the lower (diastolic)")
REACTION_WITHOUT = N_("Enter the substance this reaction is to")
NONE_AND_SOME = N_("You ticked that no allergies are known, but entered one")


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": rules.UCUM, "code": unit}


def blood_pressure(rid: str, systolic: float, diastolic: float, measured: datetime | date,
                   subject: str = "#patient") -> dict[str, Any]:
    """A blood pressure as zib BloodPressure: LOINC 85354-9 with its systolic and diastolic components."""
    def component(code: str, display: str, value: float) -> dict[str, Any]:
        return {"code": {"coding": [{"system": rules.LOINC, "code": code, "display": display}]},
                "valueQuantity": quantity(value, "mm[Hg]")}

    return {"resourceType": "Observation", "id": rid, "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs"}]}],
            "code": {"coding": [{"system": rules.LOINC, "code": rules.BLOOD_PRESSURE,
                                 "display": "Blood pressure panel with all children optional"}]},
            "subject": {"reference": subject}, "effectiveDateTime": measured.isoformat(),
            "component": [component(rules.SYSTOLIC, "Systolic blood pressure", systolic),
                          component(rules.DIASTOLIC, "Diastolic blood pressure", diastolic)]}


def lab_result(rid: str, code: str, display: str, value: float, unit: str, measured: date,
               subject: str = "#patient") -> dict[str, Any]:
    """A laboratory result as zib LaboratoryTestResult (HbA1c, eGFR)."""
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "code": {"coding": [{"system": rules.LOINC, "code": code, "display": display}]},
            "subject": {"reference": subject}, "effectiveDateTime": measured.isoformat(),
            "valueQuantity": quantity(value, unit)}


def medication_list(rid: str, text: str, written: datetime, subject: str = "#patient") -> dict[str, Any]:
    """The HIS's medication overview as text: a DocumentReference of type LOINC 10160-0 (see above)."""
    return {"resourceType": "DocumentReference", "id": rid, "status": "current",
            "type": {"coding": [{"system": rules.LOINC, "code": rules.MEDICATION_LIST,
                                 "display": "History of Medication use Narrative"}], "text": "Medicatieoverzicht"},
            "subject": {"reference": subject}, "date": written.isoformat(),
            "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "title": "Medicatieoverzicht",
                                        "data": base64.b64encode(text.encode("utf-8")).decode("ascii")}}]}


def allergy(rid: str, substance: str, reaction: str | None, subject: str = "#patient") -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "AllergyIntolerance", "id": rid,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                       "code": "active"}]},
        "code": {"text": substance}, "patient": {"reference": subject}}
    if reaction:
        body["reaction"] = [{"manifestation": [{"text": reaction}]}]
    return body


def no_known_allergies(rid: str, subject: str = "#patient") -> dict[str, Any]:
    return {"resourceType": "AllergyIntolerance", "id": rid,
            "code": {"coding": [{"system": rules.SNOMED, "code": rules.NO_KNOWN_ALLERGY,
                                 "display": "No known allergy"}], "text": "Geen bekende allergieën"},
            "patient": {"reference": subject}}


def _number(text: str) -> float | None:
    """A Dutch or English decimal ("52,5", "52.5"); None when it is not a number."""
    cleaned = text.strip().replace(" ", "").replace(",", ".")
    if not re.fullmatch(r"\d{1,4}(\.\d{1,2})?", cleaned):
        return None
    return float(cleaned)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def context_resources(form: dict[str, str], now: datetime) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The contained resources the form's section makes, and its errors per field (msgids, or rendered
    sentences where they carry figures); nothing is made when there are errors."""
    errors: dict[str, str] = {}
    resources: list[dict[str, Any]] = []
    fields: dict[str, str] = {}  # resource id -> its value field, to place the rules' issues

    def measured(date_field: str) -> date | None:
        day = _day(form.get(date_field, ""))
        if day is None:
            errors[date_field] = DATE_NEEDED
        return day

    systolic_text, diastolic_text = form.get("ctx_bp_systolic", ""), form.get("ctx_bp_diastolic", "")
    if systolic_text or diastolic_text:
        systolic, diastolic = _number(systolic_text), _number(diastolic_text)
        if not systolic_text or not diastolic_text:
            errors["ctx_bp_systolic"] = BOTH_PRESSURES
        elif systolic is None or diastolic is None:
            errors["ctx_bp_systolic" if systolic is None else "ctx_bp_diastolic"] = NOT_A_NUMBER
        day = measured("ctx_bp_date")
        if systolic is not None and diastolic is not None and day is not None:
            resources.append(blood_pressure("ctx-bp", systolic, diastolic, day))
            fields["ctx-bp"] = "ctx_bp"
    for key, code, display, unit in (
            ("hba1c", rules.HBA1C_PERCENT if form.get("ctx_hba1c_unit") == "%" else rules.HBA1C_MMOL,
             "Hemoglobin A1c", "%" if form.get("ctx_hba1c_unit") == "%" else "mmol/mol"),
            ("egfr", rules.EGFR_CODES[0], "Glomerular filtration rate/1.73 sq M.predicted", "mL/min/{1.73_m2}")):
        text = form.get(f"ctx_{key}", "")
        if not text:
            continue
        value = _number(text)
        if value is None:
            errors[f"ctx_{key}"] = NOT_A_NUMBER
        day = measured(f"ctx_{key}_date")
        if value is not None and day is not None:
            resources.append(lab_result(f"ctx-{key}", code, display, value, unit, day))
            fields[f"ctx-{key}"] = f"ctx_{key}"
    allergies = [(form.get(f"ctx_allergy_{n}", ""), form.get(f"ctx_reaction_{n}", ""), n)
                 for n in range(1, ALLERGY_ROWS + 1)]
    for substance, reaction, n in allergies:
        if reaction and not substance:
            errors[f"ctx_allergy_{n}"] = REACTION_WITHOUT
        elif substance:
            resources.append(allergy(f"ctx-allergy-{n}", substance, reaction or None))
    if form.get("ctx_no_allergies"):
        if any(substance for substance, _, _ in allergies):
            errors["ctx_allergy_1"] = NONE_AND_SOME
        else:
            resources.append(no_known_allergies("ctx-no-allergies"))
    medication = form.get("ctx_medication", "").strip()
    if medication:
        resources.append(medication_list("ctx-medication", medication, now))
    # The plausibility and the future are the API's rules (fhir/context.py), placed beside the field.
    for resource in resources:
        for problem in rules.context_issues(resource, resource["id"], now, "#patient"):
            field = _field_of(fields.get(resource["id"], ""), problem.expression or "")
            if problem.message == rules.FUTURE_DATE:
                errors.setdefault(field, IN_FUTURE)
            elif problem.message == rules.PRESSURE_ORDER:
                errors.setdefault(field, PRESSURE_ORDER)
            elif "low" in problem.params:
                errors.setdefault(field, Message(NOT_PLAUSIBLE, {
                    "low": problem.params["low"], "high": problem.params["high"],
                    "unit": _unit_words(str(problem.params["unit"]))}).render())
            else:
                errors.setdefault(field or "", problem.diagnostics)
    return ([] if errors else resources), errors


def _field_of(value_field: str, expression: str) -> str:
    if value_field == "ctx_bp":
        if ".effective" in expression:
            return "ctx_bp_date"
        return "ctx_bp_diastolic" if "component[1]" in expression else "ctx_bp_systolic"
    if ".effective" in expression:
        return f"{value_field}_date"
    return value_field


def _unit_words(unit: str) -> str:
    return {"mm[Hg]": "mmHg", "mL/min/{1.73_m2}": "ml/min/1,73 m²"}.get(unit, unit)


def missing_errors(kinds: list[str]) -> dict[str, str]:
    """The agreement's missing context beside the fields that supply it, in the reader's language."""
    errors: dict[str, str] = {}
    for kind in kinds:
        text = Message(REQUIRED, {"what": Message(KIND_LABELS.get(kind, kind))}).render()
        errors.setdefault(KIND_FIELDS.get(kind, ""), text)
    return errors
