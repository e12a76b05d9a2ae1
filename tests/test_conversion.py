"""A consult whose advice is "referral indicated" becomes a referral the GP system can pick up, keeping the
consult's business identifier; without the GP's authorisation it is only a proposal and the GP decides."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.conftest import START, GPSystem, new_request
from tests.test_thread import VISSER, _specialist
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.fhir.parsing import parse_resource

CONVERSION = "https://fhir.triage-service.nl/StructureDefinition/triage-ext-conversion-authorised"


def _consult(gp: GPSystem, consult_request: dict[str, Any], authorised: bool) -> str:
    body = new_request(consult_request, performer=VISSER)
    for extension in body["extension"]:
        if extension["url"] == CONVERSION:
            extension["valueBoolean"] = authorised
    return str(gp.post("/fhir/ServiceRequest", body).get_json()["id"])


def _advise(app: Flask, consult_id: str, outcome: str = "referral-indicated") -> None:
    referral = {"referral_specialism": "0310", "referral_urgency": "urgent"} if outcome == "referral-indicated" else {}
    with session_scope(app) as session:
        advice.record_advice(session, _specialist(app), consult_id,
                             advice.Advice("Verdacht voor melanoom: excisie in het ziekenhuis.", outcome, **referral),
                             START)


def _referral(gp: GPSystem, consult_id: str) -> Any:
    task = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    reference = next(o for o in task["output"] if o["type"]["text"] == "referral-request")["valueReference"]
    return gp.get(f"/fhir/{reference['reference']}")


@pytest.mark.parametrize(("authorised", "status", "intent"), [(True, "active", "order"), (False, "draft", "proposal")])
def test_a_converted_consult_exposes_its_referral(app: Flask, gp: GPSystem, consult_request: dict, authorised: bool,
                                                   status: str, intent: str) -> None:
    consult_id = _consult(gp, consult_request, authorised)
    _advise(app, consult_id)

    response = _referral(gp, consult_id)

    assert response.status_code == 200
    referral = response.get_json()
    assert referral["basedOn"] == [{"reference": f"ServiceRequest/{consult_id}"}]
    consult = gp.get(f"/fhir/ServiceRequest/{consult_id}").get_json()
    assert referral["identifier"] == consult["identifier"]  # the same business identifier
    assert (referral["status"], referral["intent"], referral["priority"]) == (status, intent, "urgent")
    assert referral["performerType"]["coding"][0]["code"] == "0310"
    assert [i for i in parse_resource(referral, "ServiceRequest").issues if i.is_error] == []
    if not authorised:
        assert "the GP decides" in referral["note"][0]["text"]


def test_a_consult_that_did_not_become_a_referral_has_none(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    consult_id = _consult(gp, consult_request, True)
    _advise(app, consult_id, outcome="primary-care-advice")
    task = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    assert all(o["type"]["text"] != "referral-request" for o in task["output"])
    assert gp.get(f"/fhir/ServiceRequest/{consult_id}-referral").status_code == 404


def test_another_practice_cannot_read_the_referral(app: Flask, gp: GPSystem, other_gp: GPSystem,
                                                   consult_request: dict) -> None:
    consult_id = _consult(gp, consult_request, True)
    _advise(app, consult_id)
    assert other_gp.get(f"/fhir/ServiceRequest/{consult_id}-referral").status_code == 404
