"""A normal referral sent for triage reaches a dermatologist, who accepts it (the referral stands and its own
ServiceRequest stays active), or returns it to the GP with advice (a prevented referral); the GP system sees
either on its Task and can acknowledge it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import START, GPSystem, new_request
from tests.test_thread import VISSER, _specialist
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.errors import Conflict
from triage_service.fhir.profiles import PROFILE_CONSULT_TASK, registry
from triage_service.models import Consult, RoutingDecision
from triage_service.routing.referral_flags import conversion_rate

CATEGORY = "https://fhir.triage-service.nl/CodeSystem/triage-request-category"


def referral_request(consult_request: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The example consult as a normal referral for triage: category referral, and no GP intent (nor
    conversion authorisation), which only a meekijkconsult carries."""
    body = new_request(consult_request, performer=VISSER, **changes)
    body["category"] = [
        {"coding": [{"system": CATEGORY, "code": "referral", "display": "Referral for specialist triage"}]}
    ]
    body.pop("extension")
    return body


@pytest.fixture
def referral_id(gp: GPSystem, consult_request: dict) -> str:
    response = gp.post("/fhir/ServiceRequest", referral_request(consult_request))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def task_of(gp: GPSystem, consult_id: str) -> dict[str, Any]:
    task: dict[str, Any] = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    return task


def outputs_of(task: dict[str, Any]) -> dict[str, Any]:
    return {o["type"]["text"]: next(v for k, v in o.items() if k.startswith("value")) for o in task["output"]}


def accept(app: Flask, consult_id: str, urgency: str = "urgent", note: str | None = None) -> None:
    with session_scope(app) as session:
        advice.accept_referral(session, _specialist(app), consult_id, advice.ReferralAcceptance(urgency, note), START)


def give_back(app: Flask, consult_id: str, text: str = "Lokale therapie intensiveren; geen verwijzing nodig.") -> None:
    with session_scope(app) as session:
        advice.return_referral(session, _specialist(app), consult_id, advice.ReferralReturn(text, 7), START)


def acknowledge(gp: GPSystem, task: dict[str, Any]) -> Any:
    task["businessStatus"]["coding"][0]["code"] = "advice-acknowledged"
    return gp.put(f"/fhir/Task/{task['id']}", task, **{"If-Match": f'W/"{task["meta"]["versionId"]}"'})


def test_a_referral_without_a_gp_intent_is_routed_to_the_dermatologist_for_triage(
    gp: GPSystem, referral_id: str
) -> None:
    task = task_of(gp, referral_id)
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == ("accepted", "assigned")
    assert task["owner"]["identifier"]["value"] == "03100001"


def test_a_referral_is_routed_under_the_referral_triage_agreement_without_likely_referral_flags(
    app: Flask, gp: GPSystem, consult_request: dict
) -> None:
    # S82 fires MKC-DERM's red flag for a meekijkconsult; a referral is one already, so nothing is flagged.
    referral_id = gp.post("/fhir/ServiceRequest", referral_request(consult_request)).get_json()["id"]
    assert "note" not in task_of(gp, referral_id)
    with session_scope(app) as session:
        decision = session.scalar(select(RoutingDecision).where(RoutingDecision.consult_id == referral_id))
        assert decision is not None and "TRIAGE-DERM" in decision.reason


def test_a_referral_no_agreement_triages_is_refused_with_the_reason(gp: GPSystem, consult_request: dict) -> None:
    body = referral_request(consult_request)
    body.pop("performer")
    body["performerType"]["coding"][0].update(code="0320", display="Cardiologie")
    body["reasonCode"][0]["coding"][0].update(code="K77", display="Decompensatio cordis")
    response = gp.post("/fhir/ServiceRequest", body)
    assert response.status_code == 422
    assert "not as referrals for triage" in response.get_json()["issue"][0]["diagnostics"]


def test_an_accepted_referral_stands_and_its_own_service_request_is_the_referral(
    app: Flask, gp: GPSystem, referral_id: str
) -> None:
    before = gp.get(f"/fhir/ServiceRequest/{referral_id}")

    accept(app, referral_id, urgency="urgent", note="Graag binnen twee weken op de poli; PA meesturen.")

    task = task_of(gp, referral_id)
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == ("completed", "referral-accepted")
    outputs = outputs_of(task)
    assert outputs["outcome"]["coding"][0]["code"] == "referral-accepted"
    assert outputs["converted-to-referral"] is True
    assert (outputs["referral-specialism"], outputs["referral-urgency"]) == ("0310", "urgent")
    assert outputs["referral-request"] == {"reference": f"ServiceRequest/{referral_id}"}  # not a derived copy
    assert outputs["advice"] == "Graag binnen twee weken op de poli; PA meesturen."
    assert registry().validate(task, PROFILE_CONSULT_TASK) == []
    after = gp.get(f"/fhir/ServiceRequest/{referral_id}")
    assert after.get_json()["status"] == "active"  # to be performed by the hospital
    assert after.headers["ETag"] == before.headers["ETag"]  # the GP's request itself did not change
    assert gp.get(f"/fhir/ServiceRequest/{referral_id}-referral").status_code == 404


def test_an_accepted_referral_without_a_note_sends_no_message_but_a_complete_task(
    app: Flask, gp: GPSystem, referral_id: str
) -> None:
    accept(app, referral_id, urgency="routine")

    task = task_of(gp, referral_id)
    assert "advice-message" not in outputs_of(task)
    assert registry().validate(task, PROFILE_CONSULT_TASK) == []  # tsk-1: a completed Task has output
    assert gp.get(f"/fhir/Communication?based-on={referral_id}").get_json()["total"] == 0


def test_a_referral_returned_with_advice_counts_as_prevented(app: Flask, gp: GPSystem, referral_id: str) -> None:
    give_back(app, referral_id)

    task = task_of(gp, referral_id)
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == ("completed", "referral-returned")
    outputs = outputs_of(task)
    assert outputs["outcome"]["coding"][0]["code"] == "returned-with-advice"
    assert outputs["converted-to-referral"] is False
    assert "referral-request" not in outputs and "referral-urgency" not in outputs
    assert registry().validate(task, PROFILE_CONSULT_TASK) == []
    assert gp.get(f"/fhir/ServiceRequest/{referral_id}").get_json()["status"] == "completed"
    with session_scope(app) as session:
        consult = session.get(Consult, referral_id)
        assert consult is not None and consult.time_spent_minutes == 7


def test_the_gp_reads_the_advice_of_a_returned_referral_and_acknowledges_it(
    app: Flask, gp: GPSystem, referral_id: str
) -> None:
    give_back(app, referral_id, "Start methotrexaat is niet nodig; eerst lichttherapie via de huisarts.")
    task = task_of(gp, referral_id)
    reference = outputs_of(task)["advice-message"]["reference"]

    message = gp.get(f"/fhir/{reference}").get_json()
    assert message["category"][0]["coding"][0]["code"] == "advice"
    assert message["payload"][0]["contentString"].startswith("Start methotrexaat")

    response = acknowledge(gp, task)
    assert response.status_code == 200, response.get_json()
    assert task_of(gp, referral_id)["businessStatus"]["coding"][0]["code"] == "advice-acknowledged"


def test_the_gp_can_acknowledge_an_accepted_referral(app: Flask, gp: GPSystem, referral_id: str) -> None:
    accept(app, referral_id)
    response = acknowledge(gp, task_of(gp, referral_id))
    assert response.status_code == 200, response.get_json()
    assert task_of(gp, referral_id)["businessStatus"]["coding"][0]["code"] == "advice-acknowledged"


def test_a_triaged_referral_cannot_be_triaged_again(app: Flask, referral_id: str) -> None:
    give_back(app, referral_id)
    with pytest.raises(Conflict):
        accept(app, referral_id)


def test_a_meekijkconsult_cannot_be_accepted_or_returned_as_a_referral(
    app: Flask, gp: GPSystem, consult_request: dict
) -> None:
    consult_id = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER)).get_json()["id"]
    with pytest.raises(advice.FormErrors) as refused:
        accept(app, consult_id)
    assert "not a referral for triage" in refused.value.errors["category"]
    with pytest.raises(advice.FormErrors):
        give_back(app, consult_id)
    assert task_of(gp, consult_id)["status"] == "accepted"


def test_a_referral_cannot_get_the_answer_of_a_meekijkconsult(app: Flask, gp: GPSystem, referral_id: str) -> None:
    with pytest.raises(advice.FormErrors) as refused, session_scope(app) as session:
        advice.record_advice(
            session, _specialist(app), referral_id, advice.Advice("Advies", "primary-care-advice"), START
        )
    assert "referral for triage" in refused.value.errors["category"]
    assert task_of(gp, referral_id)["status"] == "accepted"


def test_returned_referrals_do_not_count_in_the_conversion_figures_of_meekijkconsults(
    app: Flask, referral_id: str
) -> None:
    give_back(app, referral_id)
    with session_scope(app) as session:
        assert conversion_rate(session, "0310", "S82") == (0, 0)
