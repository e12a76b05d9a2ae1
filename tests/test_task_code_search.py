"""Task?code as FHIR token search says (http://hl7.org/fhir/R4/search.html#token): the back-referral code finds the
practice's back-referrals' Tasks; a consult's Task carries no code, so any other code finds no Task (200, empty),
and the CapabilityStatement's Task search parameters are exactly those the search takes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhirpy import SyncFHIRClient
from flask import Flask

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.test_back_referral_api import _sent
from triage_service.fhir.back_referrals import CS_BACK_REFERRAL

CAPABILITY = Path(__file__).parents[1] / "fhir_profiles" / "CapabilityStatement-triage-service.json"


@pytest.fixture
def consult_and_back_referral(app: Flask, clock: FrozenClock, gp: GPSystem, consult_request: dict[str, Any]) -> None:
    assert gp.post("/fhir/ServiceRequest", new_request(consult_request)).status_code == 201
    _sent(app, clock)


def _ids(gp: GPSystem, query: str) -> list[str]:
    response = gp.get(f"/fhir/Task?{query}")
    assert response.status_code == 200, response.get_json()
    return [e["resource"]["id"] for e in response.get_json().get("entry", [])]


@pytest.mark.usefixtures("consult_and_back_referral")
@pytest.mark.parametrize("code", ["urn:x|nonsense", "nonsense", "|nonsense", "|back-referral", "urn:x|back-referral",
                                  f"{CS_BACK_REFERRAL}|taken-over"])
def test_a_code_no_task_has_is_an_empty_bundle(gp: GPSystem, code: str) -> None:
    bundle = gp.get(f"/fhir/Task?code={code}").get_json()

    assert bundle["resourceType"] == "Bundle" and bundle["total"] == 0 and "entry" not in bundle


@pytest.mark.usefixtures("consult_and_back_referral")
@pytest.mark.parametrize("code", ["back-referral", f"{CS_BACK_REFERRAL}|back-referral", f"{CS_BACK_REFERRAL}|",
                                  f"urn:x|nonsense,{CS_BACK_REFERRAL}|back-referral"])
def test_the_back_referral_code_in_any_token_form_finds_only_the_back_referrals_task(gp: GPSystem,
                                                                                     code: str) -> None:
    ids = _ids(gp, f"code={code}")

    assert len(ids) == 1 and ids[0].startswith("terugverwijzing-")


@pytest.mark.usefixtures("consult_and_back_referral")
def test_repeated_code_parameters_must_all_hold_so_back_referral_and_another_code_find_nothing(gp: GPSystem) -> None:
    assert _ids(gp, "code=back-referral&code=urn:x|nonsense") == []
    assert len(_ids(gp, "code=back-referral&code=back-referral")) == 1


@pytest.mark.usefixtures("consult_and_back_referral")
def test_an_empty_code_is_ignored_and_a_code_combines_with_the_other_parameters(gp: GPSystem) -> None:
    consult_tasks = _ids(gp, "code=")

    assert len(consult_tasks) == 1 and not consult_tasks[0].startswith("terugverwijzing-")
    assert _ids(gp, "code=nonsense&status=requested") == []


@pytest.mark.usefixtures("consult_and_back_referral")
def test_a_client_library_searches_tasks_by_code(live_server: str, gp: GPSystem) -> None:
    fhir = SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}")

    assert fhir.resources("Task").search(code="urn:x|nonsense").fetch() == []
    assert fhir.resources("Task").search(code="urn:x|nonsense").count() == 0
    assert [t["code"]["coding"][0]["code"] for t in fhir.resources("Task").search(code="back-referral").fetch()] \
        == ["back-referral"]


def test_the_refusal_of_an_unknown_parameter_names_exactly_the_declared_task_search_parameters(
        gp: GPSystem) -> None:
    task = next(r for r in json.loads(CAPABILITY.read_text())["rest"][0]["resource"] if r["type"] == "Task")
    declared = {p["name"] for p in task["searchParam"]}

    diagnostics = gp.get("/fhir/Task?unknown-thing=1").get_json()["issue"][0]["diagnostics"]
    supported = set(diagnostics.split("; supported: ")[1].split(", "))

    result_parameters = {"_count", "_offset", "_format", "_summary", "_total", "_totalMethod"}
    modifiers = {"owner:identifier", "requester:identifier"}  # of declared reference parameters
    assert supported - result_parameters - modifiers == declared
    assert all(m.split(":")[0] in declared for m in modifiers)


def test_the_dutch_refusal_lists_code_among_the_supported_parameters(gp: GPSystem) -> None:
    gp.language = None  # a GP system that asks for no language gets Dutch

    diagnostics = gp.get("/fhir/Task?kode=x").get_json()["issue"][0]["diagnostics"]

    assert diagnostics.startswith("Niet-ondersteunde zoekparameter(s): kode; ondersteund: ")
    assert "code" in diagnostics.split("ondersteund: ")[1].split(", ")
