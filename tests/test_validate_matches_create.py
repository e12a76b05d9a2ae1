"""$validate and create give the same issues: what $validate passes, create does not refuse or warn about
otherwise, because both run the same checks (consults/intake.check_consult) (issue 24)."""

from __future__ import annotations

from typing import Any

from tests.conftest import GPSystem, new_request


def with_icpc(consult_request: dict[str, Any], code: str, display: str) -> dict[str, Any]:
    body = new_request(consult_request)
    body["reasonCode"][0]["coding"][0].update(code=code, display=display)
    return body


def issues_of(outcome: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i["severity"], i["diagnostics"]) for i in outcome.get("issue", []) if i["severity"] != "information"]


def test_a_changing_mole_gets_the_same_likely_referral_warning_from_validate_and_from_create(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    body = with_icpc(consult_request, "S82", "Naevus/moedervlek")

    validated = gp.post("/fhir/ServiceRequest/$validate", body).get_json()
    created = gp.post("/fhir/ServiceRequest", body, Prefer="return=OperationOutcome")

    assert created.status_code == 201
    warnings = issues_of(validated)
    assert warnings and all(severity == "warning" for severity, _ in warnings)
    assert warnings == issues_of(created.get_json())


def test_a_consult_without_flags_is_all_clear_on_both(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    body = with_icpc(consult_request, "S74", "Dermatomycose")

    validated = gp.post("/fhir/ServiceRequest/$validate", body).get_json()
    created = gp.post("/fhir/ServiceRequest", body, Prefer="return=OperationOutcome")

    assert issues_of(validated) == [] == issues_of(created.get_json())


def test_what_create_refuses_validate_reports_as_the_same_error(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    body = with_icpc(consult_request, "K77", "Decompensatio cordis")  # no dermatology profile admits it

    validated = gp.post("/fhir/ServiceRequest/$validate", body)
    created = gp.post("/fhir/ServiceRequest", body)

    assert validated.status_code == 200 and created.status_code == 422
    assert [d for s, d in issues_of(validated.get_json()) if s == "error"] == \
        [d for s, d in issues_of(created.get_json()) if s == "error"]


def test_a_well_formed_icpc_code_the_table_lacks_is_accepted_with_the_same_warning_from_both(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    body = with_icpc(consult_request, "S00", "Geen ICPC-code")  # the form of a code; ICPC has no rubric 00

    validated = gp.post("/fhir/ServiceRequest/$validate", body).get_json()
    created = gp.post("/fhir/ServiceRequest", body, Prefer="return=OperationOutcome")

    assert created.status_code == 201
    warnings = issues_of(created.get_json())
    assert ("warning", "ICPC code S00 is not in this service's ICPC-1-NL table: the consult is accepted, but check "
                       "the code") in warnings
    assert issues_of(validated) == warnings


def test_the_unlisted_code_warning_is_dutch_for_a_gp_system_that_asks_for_no_language(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    gp.language = None
    body = with_icpc(consult_request, "S82.99", "Naevus, onbekende subcode")

    created = gp.post("/fhir/ServiceRequest", body, Prefer="return=OperationOutcome")

    assert created.status_code == 201
    warning = next(i for i in created.get_json()["issue"] if i["code"] == "code-invalid")
    assert warning["severity"] == "warning" and warning["expression"] == ["ServiceRequest.reasonCode"]
    assert warning["diagnostics"].startswith("ICPC-code S82.99 staat niet in de ICPC-1-NL-tabel van deze dienst")
