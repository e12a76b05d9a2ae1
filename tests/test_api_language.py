"""The FHIR API answers in Dutch, and in English on Accept-Language: en (issue 21): diagnostics, Task notes and
the referral's note alike; codes, element paths and quoted code values stay as they are."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale

from tests.conftest import GPSystem, new_request
from tests.routing.test_referral_flags import _body, _task
from tests.test_conversion import _advise, _consult, _referral
from triage_service.fhir.notes import flag_note

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"


def _bad_consult(consult_request: dict[str, Any]) -> dict[str, Any]:
    body = new_request(consult_request)
    body["bodyStructure"] = {"reference": "BodyStructure/1"}  # an R5 element
    body["status"] = "draft"
    return body


def _issues(response: Any) -> list[dict[str, Any]]:
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome", body
    return list(body["issue"])


def _translation(annotation: dict[str, Any]) -> tuple[str, str]:
    [extension] = annotation["_text"]["extension"]
    assert extension["url"] == TRANSLATION
    parts = {e["url"]: e for e in extension["extension"]}
    return parts["lang"]["valueCode"], parts["content"]["valueString"]


def test_a_bad_consult_is_explained_in_dutch_when_the_gp_system_asks_for_no_language(
        gp: GPSystem, consult_request: dict) -> None:
    gp.language = None
    response = gp.post("/fhir/ServiceRequest", _bad_consult(consult_request))

    assert response.status_code == 400
    diagnostics = [i["diagnostics"] for i in _issues(response)]
    assert "Onbekend element 'bodyStructure' (bestaat niet in FHIR R4)" in diagnostics
    assert "Accept-Language" in response.headers["Vary"]


def test_the_same_bad_consult_is_explained_in_english_on_accept_language_en(
        gp: GPSystem, consult_request: dict) -> None:
    gp.language = None
    dutch = _issues(gp.post("/fhir/ServiceRequest", _bad_consult(consult_request)))
    gp.language = "en"
    english = _issues(gp.post("/fhir/ServiceRequest", _bad_consult(consult_request)))

    assert "Unknown element 'bodyStructure' (not in FHIR R4)" in [i["diagnostics"] for i in english]
    # Only the sentences change: the codes and the element paths are the same in either language.
    assert [(i["code"], i.get("expression")) for i in dutch] == [(i["code"], i.get("expression")) for i in english]
    assert [i["diagnostics"] for i in dutch] != [i["diagnostics"] for i in english]


@pytest.mark.parametrize(("header", "expected"), [
    ("en-GB,en;q=0.9", "Required element"), ("de", "Verplicht element"), ("nl-NL", "Verplicht element"),
    ("*", "Verplicht element"),
])
def test_english_is_only_chosen_when_it_is_the_best_match(gp: GPSystem, consult_request: dict, header: str,
                                                          expected: str) -> None:
    body = new_request(consult_request)
    del body["intent"]
    gp.language = header
    issues = _issues(gp.post("/fhir/ServiceRequest", body))
    assert any(i["diagnostics"].startswith(expected) and i["expression"] == ["ServiceRequest.intent"]
               for i in issues), issues


def test_a_rule_of_the_service_is_explained_in_dutch_with_its_quoted_code_kept(
        gp: GPSystem, consult_request: dict) -> None:
    gp.language = None
    body = new_request(consult_request)
    body["status"] = "draft"
    issues = _issues(gp.post("/fhir/ServiceRequest", body))
    assert {"severity": "error", "code": "value", "expression": ["ServiceRequest.status"],
            "diagnostics": "Een consultaanvraag wordt ingediend met status 'active'"} in issues


def test_a_bad_transaction_is_explained_in_dutch(gp: GPSystem, transaction_bundle: dict) -> None:
    gp.language = None
    transaction_bundle["entry"][0]["request"] = {"method": "PUT", "url": "Patient/1"}
    issues = _issues(gp.post("/fhir", transaction_bundle))
    assert any(i["diagnostics"].startswith("Elke entry moet request.method POST naar url")
               and i["expression"] == ["Bundle.entry[0].request"] for i in issues), issues


def test_a_request_no_agreement_covers_is_refused_in_dutch(gp: GPSystem, consult_request: dict) -> None:
    gp.language = None
    response = gp.post("/fhir/ServiceRequest", _body(consult_request, specialism="0329"))
    assert response.status_code == 422
    assert _issues(response)[0]["diagnostics"].startswith("Geen samenwerkingsafspraak dekt")


def test_an_unknown_endpoint_is_answered_in_dutch_or_english(gp: GPSystem) -> None:
    gp.language = None
    assert _issues(gp.get("/fhir/Nonsense"))[0]["diagnostics"] == (
        "Dit endpoint of resourcetype bestaat niet: GET /fhir/Nonsense")
    gp.language = "en"
    assert _issues(gp.get("/fhir/Nonsense"))[0]["diagnostics"] == (
        "No such endpoint or resource type: GET /fhir/Nonsense")


def test_the_task_note_of_a_flag_is_dutch_with_english_as_its_translation(
        gp: GPSystem, consult_request: dict) -> None:
    gp.language = None
    response = gp.post("/fhir/ServiceRequest", _body(consult_request), Prefer="return=OperationOutcome")
    consult_id = response.headers["Location"].split("/")[-3]
    warning = next(i for i in _issues(response) if i["severity"] == "warning")

    note = _task(gp, consult_id)["note"][0]

    assert note["text"] == warning["diagnostics"]
    assert "verwijzing (Veranderende gepigmenteerde laesie)" in note["text"]
    assert "Er zijn nog geen vergelijkbare consulten afgerond." in note["text"]
    language, english = _translation(note)
    assert language == "en"
    assert english.startswith("Likely referral (")
    assert english.endswith("No similar consults have been completed yet.")


def test_on_accept_language_en_the_task_note_is_english_with_dutch_as_its_translation(
        gp: GPSystem, consult_request: dict) -> None:
    consult_id = gp.post("/fhir/ServiceRequest", _body(consult_request)).get_json()["id"]

    note = _task(gp, consult_id)["note"][0]

    assert note["text"].startswith("Likely referral (")
    assert _translation(note)[0] == "nl"
    assert _translation(note)[1].endswith("Er zijn nog geen vergelijkbare consulten afgerond.")


def test_the_referral_note_is_dutch_by_default_and_english_on_request(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    consult_id = _consult(gp, consult_request, authorised=False)
    _advise(app, consult_id)

    gp.language = None
    dutch = _referral(gp, consult_id).get_json()["note"][0]
    gp.language = "en"
    english = _referral(gp, consult_id).get_json()["note"][0]

    assert "de huisarts beslist of er verwezen wordt" in dutch["text"]
    assert "the GP decides whether to refer" in english["text"]
    assert _translation(dutch) == ("en", english["text"])
    assert _translation(english) == ("nl", dutch["text"])


@pytest.mark.parametrize(("total", "converted", "dutch"), [
    (1, 1, "Verwijzing bij 1 van 1 vergelijkbaar consult."),
    (2, 1, "Verwijzing bij 1 van 2 vergelijkbare consulten."),
    (5, 3, "Verwijzing bij 3 van 5 vergelijkbare consulten."),
])
def test_the_share_of_similar_consults_that_became_a_referral_is_good_dutch_for_one_and_for_several(
        app: Flask, total: int, converted: int, dutch: str) -> None:
    # "1 van 2 ... werden een verwijzing" had the verb agree with the 2, not the 1.
    with app.test_request_context(), force_locale("nl"):
        note = flag_note("rule", "Rode vlag", "Veranderende laesie", total, converted).render()
    assert note.endswith(dutch)
