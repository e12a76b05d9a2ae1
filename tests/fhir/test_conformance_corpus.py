"""The strict FHIR layer measured against HL7's validator test cases.

``shared/conformance/fhir-test-cases/validator-r4-simple`` holds 182 cases (91
valid, 91 invalid according to the HL7 Java validator, ``java_errorCount`` in
INDEX.json). The cases are keyed by their INDEX ``name``: a few files are used
twice with different validator options and therefore have both verdicts.

Set TRIAGE_CONFORMANCE_DIR to the ``conformance`` directory to use another copy.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from triage_service.fhir.json_body import parse_json_body
from triage_service.fhir.parsing import parse_resource
from triage_service.outcome import Issue

# Valid according to the reference validator, refused by us on purpose.
KNOWN_FALSE_POSITIVES: dict[str, str] = {
    "pat-security-good2": "same content as pat-security-bad-string (a <script> tag in HumanName.text), accepted only "
    "with the validator's security checks off; we always refuse active HTML",
    "contained-resource-bad-id-ignore": "same file as contained-resource-bad-id, validated with its errors ignored; "
    "we enforce the 64-character id limit and dom-3",
    "ref-policy-default-r4": "deliberately stricter: fullUrl with the scheme 'uin:' (typo of urn:) and a reference to "
    "an invalid urn:uuid; we allow only urn:uuid, urn:oid and http(s) fullUrls",
    "ref-policy-default-apply-r5": "same file as ref-policy-default-r4",
}

# Invalid according to the reference validator, still accepted by this generic
# layer. Each needs knowledge this layer does not have.
KNOWN_ACCEPTED_INVALID: dict[str, str] = {
    "allergy": "binding: a required-bound code carried only by a data-absent-reason extension (terminology)",
    "bundle-document-versioned-references-bad": "ambiguous versioned references in a document (reference resolution)",
    "dr-example-org": "validator policy against example.org URLs, not a FHIR rule",
    "questionnaire-enableWhen-dw": "invariant que-12 (resource-specific FHIRPath; profile layer)",
    "q-enablewhen-me-wrong": "invariant que-12 (resource-specific FHIRPath; profile layer)",
    "sp-diff-type": "SearchParameter derivedFrom semantics (needs the base definition)",
    "sp-diff-base": "SearchParameter derivedFrom semantics (needs the base definition)",
    "sp-composite": "SearchParameter composite needs components (resource-specific rule)",
    "capstmt": "search parameter type must match its SearchParameter definition (needs definitions)",
    "vs-bad-code": "unknown SNOMED CT codes (terminology server)",
    "obs-temp-bad": "bodytemp vital-signs profile (profile layer)",
    "obs-vs-1": "unknown extension and bp vital-signs profile (profile layer)",
    "parameters-reference-bad": "unresolvable reference inside Parameters (reference resolution)",
    "qr-bad-ref2": "canonical resolves to a resource of the wrong type (resolution)",
    "supplement-2": "CodeSystem supplement rules (terminology)",
    "pat-dob-ext": "unknown extension definition (extension registry; profile layer)",
    "target-ref-profile-empty": "unknown extension definitions and a display name (profile layer, terminology)",
    "pat-example-extensions": "unknown extension definition (extension registry; profile layer)",
    "patient-with-turvakielto": "unknown extension definition (extension registry; profile layer)",
    "nested-questionnaire-nested-valueset": "extension not allowed in this context (extension definitions)",
    "maiden-name-extension": "extension context of another FHIR version (extension definitions)",
    "cvx": "wrong display name (terminology)",
    "bundle-id-5": "wrong display name (terminology)",
    "uk-msg": "unknown SNOMED CT codes and display names (terminology)",
    "obs-temp-code2": "unknown SNOMED CT code (terminology)",
    "contract-binding-test": "codes unknown in HL7 code systems, inside Codings (terminology)",
    "cs-bad-props": "CodeSystem property type semantics (terminology)",
    "vs-bad-props": "ValueSet filter property values (terminology)",
    "vs-params-2": "ValueSet filter parameter expressions (terminology)",
    "vs-params-3": "ValueSet filter parameter expressions (terminology)",
    "vs-params-4": "ValueSet filter parameter expressions (terminology)",
    "vs-bad-ecl": "invalid SNOMED ECL (terminology)",
    "vs-bad-ecl-us": "invalid SNOMED ECL (terminology)",
    "risk-assessment-probability-range": "invariant ras-2 (resource-specific FHIRPath; profile layer)",
    "ext-ccuk": "StructureDefinition slicing at the root (snapshot generation)",
    "obs-mz": "StructureDefinition snapshot generation",
    "signatures-example-2": "digital signature verification (needs the certificate and canonicalisation)",
    "bad-markdown-no-html": "same file as bad-markdown (valid): HTML in markdown is a validator option",
    "cs-narrative-status-pub": "same file as cs-narrative-status (valid): an HL7-publication rule, a validator option",
}

# How many of the 91 invalid cases the layer must refuse (fhir.resources alone: 26).
INVALID_REJECTED_FLOOR = 52


@dataclass(frozen=True)
class Case:
    name: str
    file: Path
    valid: bool
    java_errors: tuple[str, ...]


def _conformance_dir() -> Path:
    configured = os.environ.get("TRIAGE_CONFORMANCE_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "conformance"


def _missing(path: Path) -> None:
    """CI sets TRIAGE_REQUIRE_CONFORMANCE: there a missing corpus fails, as a missing Chromium does, instead of
    skipping six tests without anyone noticing."""
    message = f"conformance corpus not found at {path} (set TRIAGE_CONFORMANCE_DIR to the conformance directory)"
    if os.environ.get("TRIAGE_REQUIRE_CONFORMANCE"):
        pytest.fail(f"TRIAGE_REQUIRE_CONFORMANCE is set but the {message}")
    pytest.skip(message)


def _corpus_dir() -> Path:
    return _conformance_dir() / "fhir-test-cases" / "validator-r4-simple"


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    index = _corpus_dir() / "INDEX.json"
    if not index.is_file():
        _missing(index)
    entries = json.loads(index.read_text(encoding="utf-8"))
    return [
        Case(
            name=entry["name"],
            file=_corpus_dir() / entry["file"],
            valid=entry["java_errorCount"] == 0,
            java_errors=tuple(entry["java_errors"]),
        )
        for entry in entries
    ]


@cache
def _errors_for(path: Path) -> tuple[Issue, ...]:
    data, issues = parse_json_body(path.read_bytes())
    if data is not None:
        issues = parse_resource(data).issues
    return tuple(issue for issue in issues if issue.is_error)


def _fhir_resources_alone_rejects(path: Path) -> bool:
    from fhir.resources.R4B import get_fhir_model_class

    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        get_fhir_model_class(data["resourceType"]).model_validate(data)
    except Exception:
        return True
    return False


def test_the_corpus_has_the_expected_shape(cases: list[Case]) -> None:
    assert len(cases) == 182
    assert sum(case.valid for case in cases) == 91
    names = {case.name for case in cases}
    assert set(KNOWN_FALSE_POSITIVES) <= names
    assert set(KNOWN_ACCEPTED_INVALID) <= names
    assert all(not case.valid for case in cases if case.name in KNOWN_ACCEPTED_INVALID)
    assert all(case.valid for case in cases if case.name in KNOWN_FALSE_POSITIVES)


def test_every_case_the_reference_validator_accepts_is_accepted(cases: list[Case]) -> None:
    regressions: list[str] = []
    stale: list[str] = []
    for case in cases:
        if not case.valid:
            continue
        found = _errors_for(case.file)
        if case.name in KNOWN_FALSE_POSITIVES:
            if not found:
                stale.append(case.name)
        elif found:
            regressions.append(f"{case.name}: " + "; ".join(f"{i.expression}: {i.diagnostics}" for i in found[:3]))
    accepted = sum(1 for case in cases if case.valid and not _errors_for(case.file))
    print(f"\nvalid cases accepted: {accepted}/91 (known deliberate refusals: {len(KNOWN_FALSE_POSITIVES)})")
    assert regressions == [], "valid cases now refused:\n" + "\n".join(regressions)
    assert stale == [], f"accepted now, remove from KNOWN_FALSE_POSITIVES: {stale}"


def test_invalid_cases_are_refused_at_least_as_often_as_before(cases: list[Case]) -> None:
    invalid = [case for case in cases if not case.valid]
    accepted = {case.name for case in invalid if not _errors_for(case.file)}
    rejected = len(invalid) - len(accepted)
    baseline = sum(_fhir_resources_alone_rejects(case.file) for case in invalid)
    print(f"\ninvalid cases rejected: {rejected}/{len(invalid)} (fhir.resources alone: {baseline}/{len(invalid)})")

    assert rejected >= INVALID_REJECTED_FLOOR
    assert accepted - set(KNOWN_ACCEPTED_INVALID) == set(), "invalid cases no longer refused"
    assert set(KNOWN_ACCEPTED_INVALID) - accepted == set(), "refused now: remove from KNOWN_ACCEPTED_INVALID"


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(item) for item in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(item) for item in value)) if value else set()
    return set()


def test_diagnostics_never_echo_values_from_the_input(cases: list[Case]) -> None:
    leaks: list[str] = []
    for case in cases:
        found = _errors_for(case.file)
        if not found:
            continue
        # Resource type names (e.g. 'OperationOutcome') are vocabulary, not data.
        values = {
            text
            for text in _strings(json.loads(case.file.read_text(encoding="utf-8")))
            if len(text) >= 8 and not re.fullmatch(r"[A-Z][A-Za-z]+", text)
        }
        for issue in found:
            # The allowed codes of a binding are ours to list, even when one equals an input value.
            text = re.sub(r"allowed codes: .*$", "", issue.diagnostics)
            leaks.extend(f"{case.name}: {issue.expression}" for value in values if value in text)
    assert leaks == []


def test_the_caredove_referral_bundle_is_refused_with_every_problem_located() -> None:
    path = _conformance_dir() / "fhir-test-cases" / "r4-caredove-referral-transaction-bundle.json"
    if not path.is_file():
        _missing(path)
    data, json_issues = parse_json_body(path.read_bytes())
    assert json_issues == []

    result = parse_resource(data, "Bundle")
    found = [issue for issue in result.issues if issue.is_error]

    assert result.model is None
    assert all(issue.expression for issue in found)
    by_expression = {issue.expression: issue for issue in found}
    # numeric ids
    assert {f"Bundle.entry[{i}].resource.id" for i in range(12)} <= by_expression.keys()
    # an object where an array belongs
    performer = by_expression["Bundle.entry[0].resource.performer"]
    assert performer.code == "structure"
    assert "array" in performer.diagnostics
    # a key with a trailing space
    assert "whitespace" in by_expression["Bundle.entry[11].resource.businessStatus "].diagnostics
    # free text placed where an Attachment belongs
    assert by_expression["Bundle.entry[9].resource.content[0].attachment"].code == "structure"
    assert not any("Penicillin" in issue.diagnostics or "NEEDS WORK" in issue.diagnostics for issue in found)
