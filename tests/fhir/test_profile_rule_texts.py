"""The rules in our profiles speak the GP system's language: every invariant carries its Dutch text as a FHIR
translation of ``human``, and a broken rule is answered in Dutch by default and in English on request."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import GPSystem, new_request
from triage_service.fhir.profiles import PROFILES_DIR, TRANSLATION


def invariants() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(PROFILES_DIR.glob("StructureDefinition-*.json")):
        for element in json.loads(path.read_text(encoding="utf-8"))["differential"]["element"]:
            found.extend((f"{path.name} {c['key']}", c) for c in element.get("constraint", []))
    return found


@pytest.mark.parametrize(("where", "constraint"), invariants(), ids=[w for w, _ in invariants()])
def test_every_invariant_has_a_dutch_text(where: str, constraint: dict[str, Any]) -> None:
    translations = [e for e in constraint.get("_human", {}).get("extension", []) if e["url"] == TRANSLATION]
    languages = {part["valueCode"] for e in translations for part in e["extension"] if part["url"] == "lang"}
    assert "nl" in languages, where


def test_a_blank_question_is_refused_in_dutch_by_default_and_in_english_on_request(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    body = new_request(consult_request)
    body["note"] = [{"text": "   "}]

    english = gp.post("/fhir/ServiceRequest", body).get_json()["issue"][0]["diagnostics"]
    gp.language = None
    dutch = gp.post("/fhir/ServiceRequest", body).get_json()["issue"][0]["diagnostics"]

    assert dutch.startswith("De klinische vraag ontbreekt") and dutch.endswith("(regel tsr-2)")
    assert english.startswith("The clinical question is missing") and english.endswith("(rule tsr-2)")


def test_a_reason_without_an_icpc_coding_is_named_at_its_repetition(gp: GPSystem,
                                                                    consult_request: dict[str, Any]) -> None:
    body = new_request(consult_request)
    body["reasonCode"].append({"coding": [{"system": "http://snomed.info/sct", "code": "400210000"}]})

    issues = gp.post("/fhir/ServiceRequest", body).get_json()["issue"]

    assert [(i["expression"], i["diagnostics"].split(" (")[0][:40]) for i in issues] == [
        (["ServiceRequest.reasonCode[1]"], "Each reasonCode needs an ICPC-1-NL codin")]
