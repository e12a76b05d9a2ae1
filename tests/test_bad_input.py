"""Bad input gets a clear 4xx OperationOutcome, never a 500, and nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import GPSystem
from triage_service.database import session_scope
from triage_service.models import Consult, StoredResource


def _issues(response: Any) -> list[dict[str, Any]]:
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome", body
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    return list(body["issue"])


def _nothing_stored(app: Flask) -> bool:
    with session_scope(app) as session:
        return (session.scalar(select(func.count()).select_from(Consult)) == 0
                and session.scalar(select(func.count()).select_from(StoredResource)) == 0)


def test_malformed_json_is_a_400(app: Flask, gp: GPSystem) -> None:
    response = gp.post("/fhir/ServiceRequest", b'{"resourceType": "ServiceRequest", ')
    assert response.status_code == 400
    assert _issues(response)[0]["code"] in ("structure", "invalid")
    assert _nothing_stored(app)


@pytest.mark.parametrize(("body", "dutch", "english"), [
    (b'{"resourceType": "ServiceRequest", "status": }', "er werd een waarde verwacht", "a value was expected"),
    (b'{"resourceType": "ServiceRequest" "status": "active"}', "er werd een komma verwacht", "a comma was expected"),
    (b'{"resourceType": "ServiceRequest", "note": [{"text": "pijn\\q"}]}', "een tekst bevat een onbekende escape",
     "a string holds an unknown escape"),
    (b'{"resourceType": "ServiceRequest"} {}', "na de JSON-waarde volgt nog meer", "more follows after the JSON value"),
    (b'{"resourceType": "ServiceRequest", "note": [{"text": "\\u12"}]}',
     "een \\u-escape heeft geen vier hexadecimale cijfers", "a \\u escape does not have four hexadecimal digits"),
])
def test_malformed_json_is_explained_in_the_readers_language_without_quoting_the_body(
        gp: GPSystem, body: bytes, dutch: str, english: str) -> None:
    gp.language = None  # a GP system that asks for no language: Dutch
    response = gp.post("/fhir/ServiceRequest", body)
    assert response.status_code == 400
    diagnostics = _issues(response)[0]["diagnostics"]
    assert diagnostics.startswith("De body van het verzoek is geen geldige JSON: " + dutch + " (regel 1, kolom ")
    assert "Expecting" not in diagnostics and "Invalid" not in diagnostics and "'q'" not in diagnostics

    gp.language = "en"
    answer = _issues(gp.post("/fhir/ServiceRequest", body))[0]["diagnostics"]
    assert answer.startswith("Request body is not valid JSON: " + english + " (line 1, column ")


@pytest.mark.parametrize("body", [[1, 2], {"hello": "world"}, "just a string", {"resourceType": 42}])
def test_a_json_body_that_is_not_a_fhir_resource_is_a_400(gp: GPSystem, body: object) -> None:
    response = gp.post("/fhir/ServiceRequest", json.dumps(body))
    assert response.status_code == 400
    assert _issues(response)


def test_an_r5_only_element_is_refused_naming_the_element(gp: GPSystem, consult_request: dict) -> None:
    consult_request["bodyStructure"] = {"reference": "BodyStructure/1"}  # new in R5
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 400
    assert any("bodyStructure" in (i.get("expression") or [""])[0] for i in _issues(response))


def test_a_wrong_resource_type_for_the_endpoint_is_a_400(gp: GPSystem, consult_request: dict) -> None:
    patient = consult_request["contained"][0]
    response = gp.post("/fhir/ServiceRequest", patient)
    assert response.status_code == 400
    assert "ServiceRequest" in _issues(response)[0]["diagnostics"]


def test_an_unknown_core_code_is_refused(gp: GPSystem, consult_request: dict) -> None:
    consult_request["status"] = "bogus"
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 400
    assert any(i["expression"] == ["ServiceRequest.status"] for i in _issues(response))


def test_an_unknown_consult_form_is_refused_with_the_allowed_codes(gp: GPSystem, consult_request: dict) -> None:
    consult_request["code"]["coding"][0]["code"] = "telepathy"
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 422
    issue = next(i for i in _issues(response) if i["expression"] == ["ServiceRequest.code"])
    assert issue["code"] == "code-invalid" and "e-consult" in issue["diagnostics"]


def test_a_bsn_failing_the_elfproef_is_refused_without_echoing_it(gp: GPSystem, consult_request: dict) -> None:
    patient = next(c for c in consult_request["contained"] if c["resourceType"] == "Patient")
    patient["identifier"][0]["value"] = "123456789"
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 422
    issue = next(i for i in _issues(response) if "elfproef" in i["diagnostics"])
    index = next(n for n, c in enumerate(consult_request["contained"]) if c["resourceType"] == "Patient")
    assert issue["expression"] == [f"ServiceRequest.contained[{index}].identifier"]
    assert "123456789" not in response.get_data(as_text=True)


@pytest.mark.parametrize("note", [None, [{"text": "   \n "}]])
def test_a_request_without_a_clinical_question_is_refused(gp: GPSystem, consult_request: dict, note: Any) -> None:
    if note is None:
        del consult_request["note"]
    else:
        consult_request["note"] = note
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 422
    assert any("question" in i["diagnostics"].lower() or "note" in i["diagnostics"] for i in _issues(response))


def test_a_meekijkconsult_without_gp_intent_is_refused(gp: GPSystem, consult_request: dict) -> None:
    consult_request["extension"] = [e for e in consult_request["extension"] if "gp-intent" not in e["url"]]
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 422
    assert any("tsr-1" in i["diagnostics"] for i in _issues(response))


def test_a_request_for_diagnostics_only_is_not_a_meekijkconsult(gp: GPSystem, consult_request: dict) -> None:
    consult_request["category"].append({"coding": [{"system": "http://snomed.info/sct", "code": "108252007",
                                                    "display": "Laboratory procedure"}]})
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 422
    assert any("tsr-3" in i["diagnostics"] for i in _issues(response))


def test_a_body_over_the_size_limit_is_a_413(gp: GPSystem, settings: Any) -> None:
    huge = b'{"resourceType":"ServiceRequest","note":[{"text":"' + b"x" * settings.max_request_bytes + b'"}]}'
    response = gp.post("/fhir/ServiceRequest", huge)
    assert response.status_code == 413
    assert _issues(response)[0]["code"] == "too-costly"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/fhir+xml",
                                          "application/fhir+json; charset=latin-1"])
def test_a_wrong_content_type_is_a_415(gp: GPSystem, consult_request: dict, content_type: str) -> None:
    response = gp.post("/fhir/ServiceRequest", consult_request, **{"Content-Type": content_type})
    assert response.status_code == 415
    assert _issues(response)[0]["code"] == "not-supported"


def test_a_subject_pointing_at_another_practices_patient_is_not_found(
        gp: GPSystem, other_gp: GPSystem, consult_request: dict) -> None:
    patient = next(c for c in consult_request["contained"] if c["resourceType"] == "Patient")
    theirs = other_gp.post("/fhir/Patient", {k: v for k, v in patient.items() if k != "id"}).get_json()
    consult_request["contained"] = [c for c in consult_request["contained"] if c["resourceType"] != "Patient"]
    consult_request["subject"] = {"reference": f"Patient/{theirs['id']}"}
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 422
    assert any(i["code"] == "not-found" for i in _issues(response))


def test_a_request_for_another_practice_is_forbidden(other_gp: GPSystem, consult_request: dict) -> None:
    response = other_gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 403
    assert _issues(response)[0]["code"] == "forbidden"


def test_unknown_search_parameters_are_refused(gp: GPSystem) -> None:
    response = gp.get("/fhir/Task?focuss=ServiceRequest/1")
    assert response.status_code == 400
    assert "focuss" in _issues(response)[0]["diagnostics"]


def test_an_unknown_resource_type_or_method_is_an_operation_outcome(gp: GPSystem) -> None:
    assert gp.get("/fhir/Basic/1").status_code == 404
    assert _issues(gp.get("/fhir/Basic/1"))[0]["code"] == "not-found"
    response = gp.http.delete("/fhir/Task/1", headers=gp.headers())
    assert response.status_code == 405
    assert _issues(response)[0]["code"] == "not-supported"


def test_a_bundle_that_is_not_a_transaction_is_refused(gp: GPSystem, transaction_bundle: dict) -> None:
    transaction_bundle["type"] = "batch"
    response = gp.post("/fhir", transaction_bundle)
    assert response.status_code == 400
    assert _issues(response)[0]["expression"] == ["Bundle.type"]


def test_a_transaction_with_a_dangling_urn_uuid_reference_stores_nothing(
        app: Flask, gp: GPSystem, transaction_bundle: dict) -> None:
    service_request = next(e["resource"] for e in transaction_bundle["entry"]
                           if e["resource"]["resourceType"] == "ServiceRequest")
    service_request["subject"] = {"reference": "urn:uuid:6f1d3a52-0000-4000-8000-000000000000"}
    response = gp.post("/fhir", transaction_bundle)
    assert response.status_code == 422
    assert _issues(response)[0]["code"] == "not-found"
    assert _nothing_stored(app)


def test_a_real_vendors_invalid_referral_bundle_is_a_400_listing_its_problems(app: Flask, gp: GPSystem) -> None:
    from tests.fhir.test_conformance_corpus import _conformance_dir

    path = _conformance_dir() / "fhir-test-cases" / "r4-caredove-referral-transaction-bundle.json"
    if not path.exists():
        pytest.skip("shared/conformance is not beside this checkout")
    response = gp.post("/fhir", path.read_bytes())
    assert response.status_code == 400
    issues = _issues(response)
    assert len(issues) >= 3 and all(i.get("expression") for i in issues)
    assert _nothing_stored(app)


def test_a_resource_with_an_absurd_number_of_elements_is_refused_quickly(gp: GPSystem, consult_request: dict) -> None:
    consult_request["reasonCode"] = consult_request["reasonCode"] * 20000
    response = gp.post("/fhir/ServiceRequest/$validate", consult_request)
    assert response.status_code == 413
    assert _issues(response)[0]["code"] == "too-costly"


def test_a_chunked_body_over_the_limit_is_refused_not_truncated(live_server: str, gp: GPSystem,
                                                                settings: Any) -> None:
    import requests

    def chunks() -> Any:  # a generator makes requests send Transfer-Encoding: chunked, no Content-Length
        yield b'{"resourceType":"ServiceRequest"}'
        for _ in range(settings.max_request_bytes // 65536 + 1):
            yield b" " * 65536

    response = requests.post(f"{live_server}/fhir/ServiceRequest", data=chunks(), headers=gp.headers(), timeout=60)
    assert response.status_code == 413, response.text


@pytest.mark.parametrize("offset", ["9223372036854775808", "99999999999999999999999"])
def test_an_offset_beyond_any_database_is_a_400(gp: GPSystem, offset: str) -> None:
    for path in ("/fhir/Task", "/fhir/ServiceRequest"):
        response = gp.get(f"{path}?_offset={offset}")
        assert response.status_code == 400


@pytest.mark.parametrize("postcode", ["Fictief 999990019", "0123 AB", "12345", "3011 A"])
def test_a_dutch_address_without_a_real_postcode_is_refused(gp: GPSystem, consult_request: dict,
                                                           postcode: str) -> None:
    patient = next(c for c in consult_request["contained"] if c["resourceType"] == "Patient")
    patient["address"] = [{"use": "home", "postalCode": postcode, "country": "NL"}]
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 422
    assert any(i["expression"][0].endswith("address[0].postalCode") for i in _issues(response))
    assert postcode not in response.get_data(as_text=True)


def test_a_foreign_postcode_is_not_held_to_the_dutch_format(gp: GPSystem, consult_request: dict) -> None:
    patient = next(c for c in consult_request["contained"] if c["resourceType"] == "Patient")
    patient["address"] = [{"use": "home", "postalCode": "B-2000", "country": "BE"}]
    assert gp.post("/fhir/ServiceRequest", consult_request).status_code == 201


def test_a_request_authored_in_the_future_is_refused(gp: GPSystem, consult_request: dict) -> None:
    consult_request["authoredOn"] = "2099-01-01T09:00:00+01:00"
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 422
    assert any(i["expression"] == ["ServiceRequest.authoredOn"] for i in _issues(response))


def test_an_if_match_that_names_no_version_is_a_400(gp: GPSystem, consult_request: dict) -> None:
    created = gp.post("/fhir/ServiceRequest", consult_request).get_json()
    task = gp.get(f"/fhir/Task?focus={created['id']}").get_json()["entry"][0]["resource"]
    response = gp.put(f"/fhir/Task/{task['id']}", {**task, "status": "cancelled"}, **{"If-Match": "garbage"})
    assert response.status_code == 400
    assert 'W/"' in _issues(response)[0]["diagnostics"]


def test_a_transaction_entry_without_a_resource_is_named(gp: GPSystem, transaction_bundle: dict) -> None:
    transaction_bundle["entry"].append({"request": {"method": "GET", "url": "Patient"}})
    response = gp.post("/fhir", transaction_bundle)
    index = len(transaction_bundle["entry"]) - 1
    assert response.status_code == 422
    assert [i["expression"] for i in _issues(response)] == [[f"Bundle.entry[{index}].resource"]]
    assert "None" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("header", "fmt"), [("application/fhir+xml", None), ("text/html", None),
                                             (None, "xml"), (None, "application/fhir+xml")])
def test_a_client_that_accepts_only_xml_gets_a_406(gp: GPSystem, header: str | None, fmt: str | None) -> None:
    headers = {"Accept": header} if header else {}
    response = gp.get("/fhir/Task" + (f"?_format={fmt}" if fmt else ""), **headers)
    assert response.status_code == 406
    assert _issues(response)[0]["code"] == "not-supported"


@pytest.mark.parametrize(("header", "fmt"), [("application/fhir+json", None), ("*/*", None),
                                             ("application/json, text/plain;q=0.5", "json")])
def test_a_client_that_accepts_json_is_served(gp: GPSystem, header: str, fmt: str | None) -> None:
    response = gp.get("/fhir/Task" + (f"?_format={fmt}" if fmt else ""), Accept=header)
    assert response.status_code == 200


@pytest.mark.parametrize(("element", "value", "format_hint"), [
    ("authoredOn", "2026-02-30T10:00:00+01:00", "YYYY-MM-DD"), ("authoredOn", "yesterday", "YYYY-MM-DD")])
def test_an_impossible_date_is_explained_in_fhir_terms(gp: GPSystem, consult_request: dict, element: str,
                                                       value: str, format_hint: str) -> None:
    consult_request[element] = value
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 400
    issue = next(i for i in _issues(response) if i["expression"] == [f"ServiceRequest.{element}"])
    assert format_hint in issue["diagnostics"] and value not in issue["diagnostics"]


def test_an_impossible_birth_date_is_explained_in_fhir_terms(gp: GPSystem, consult_request: dict) -> None:
    index = next(n for n, c in enumerate(consult_request["contained"]) if c["resourceType"] == "Patient")
    consult_request["contained"][index]["birthDate"] = "1968-13-45"
    response = gp.post("/fhir/ServiceRequest", consult_request)
    assert response.status_code == 400
    issue = next(i for i in _issues(response) if i["expression"] == [f"ServiceRequest.contained[{index}].birthDate"])
    assert "YYYY-MM-DD" in issue["diagnostics"]


def test_a_nul_character_in_a_search_parameter_is_refused(gp: GPSystem) -> None:
    response = gp.get("/fhir/Task?status=%00")

    assert response.status_code == 400
    assert "NUL" in response.get_json()["issue"][0]["diagnostics"]
