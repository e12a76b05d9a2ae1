"""What context a consult must carry under an agreement (issue 23, point 5), per consult form.

A cardiologist cannot say much about a hypertension without a blood pressure, nor about palpitations without
an ECG; the agreement says what the GP sends along, so the GP is told at sending rather than asked afterwards
(the thread's "request for information" costs the patient days). Written in Dutch, as the zorggroep's staff
write the file; optional::

    context_required:                      # optional; without it no context is required
      e-consult: [bloeddruk, ecg]          # per consult form the agreement allows
      video-consult: [bloeddruk]

The words: ``medicatie`` (MedicationStatements or a medication list), ``allergieen`` (AllergyIntolerance),
``bloeddruk`` (LOINC 85354-9), ``hba1c`` (4548-4 or 59261-8), ``egfr`` (62238-1 or 33914-3), ``gewicht``
(29463-7), ``bmi`` (39156-5) and ``ecg`` (a DocumentReference of type LOINC 11524-6 with a PDF); fhir/context.py
defines each. ``Agreement.context_required`` keeps them as the English kinds of fhir/context.py
({"e-consult": ["blood-pressure", "ecg"]}), empty for a file without the block.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from triage_service.fhir.context import KINDS

#: The file's Dutch words and the kinds they are stored as.
WORDS = {"medicatie": "medication", "allergieen": "allergies", "bloeddruk": "blood-pressure", "hba1c": "hba1c",
         "egfr": "egfr", "gewicht": "weight", "bmi": "bmi", "ecg": "ecg"}
assert set(WORDS.values()) == set(KINDS)

_EXAMPLE = "bijvoorbeeld {{e-consult: [bloeddruk, ecg]}}"


def _each_once(words: list[str]) -> None:
    if len(set(words)) != len(words):
        raise ValidationError("noem elk gegeven een keer")


def context_field(consult_forms: tuple[str, ...]) -> fields.Dict:
    """No default: a file without the block loads without the key, so its content hash (importer.py) stays as
    it was and an agreement already in use is not taken for changed terms."""
    word = fields.String(validate=validate.OneOf(list(WORDS), error="onbekend gegeven {input}; kies uit "
                                                 + ", ".join(WORDS)))
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(consult_forms, error="onbekende consultvorm {input}; kies uit "
                                                   + ", ".join(consult_forms))),
        values=fields.List(word, validate=[validate.Length(min=1, error="noem minstens een gegeven of laat de "
                                                                         "consultvorm weg"), _each_once],
                           error_messages={"invalid": f"geef per consultvorm een lijst, {_EXAMPLE}"}),
        error_messages={"invalid": f"context_required geeft per consultvorm de vereiste gegevens, {_EXAMPLE}"})


def forms_not_allowed(data: dict[str, Any]) -> dict[str, list[str]]:
    """Consult forms the block names that the agreement does not allow (a requirement nobody could meet)."""
    allowed = set(data.get("consult_forms", []))
    return {form: [f"context_required voor {form}, maar de afspraak staat die consultvorm niet toe "
                   f"(consult_forms: {', '.join(sorted(allowed))})"]
            for form in data.get("context_required") or {} if form not in allowed}


def stored(block: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """As kept in ``Agreement.context_required``: the kinds per consult form; {} without a block."""
    return {form: [WORDS[word] for word in words] for form, words in (block or {}).items()}
