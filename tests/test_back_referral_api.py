"""Back-referrals over FHIR (issue 23, point 2), as De Linde's GP system reads and answers them: with a real FHIR
client library (fhirpy) on a loopback port, and the test client for the refusals."""

from __future__ import annotations

from typing import Any

import pytest
from fhirpy import SyncFHIRClient
from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.test_back_referral import CARDIOLOGIST_AGB, form
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import back_referrals
from triage_service.database import session_scope
from triage_service.fhir.back_referrals import CS_BACK_REFERRAL, QUESTIONNAIRE
from triage_service.models import AuditEntry, BackReferral, BackReferralStatus, Practitioner

CATEGORY = f"{CS_BACK_REFERRAL}|back-referral"


@pytest.fixture
def fhir(live_server: str, gp: GPSystem) -> SyncFHIRClient:
    return SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}",
                          extra_headers={"Content-Type": "application/fhir+json"})


def _sent(app: Flask, clock: FrozenClock) -> str:
    with session_scope(app) as session:
        mulder = session.scalars(select(Practitioner).where(Practitioner.agb == CARDIOLOGIST_AGB)).one()
        return back_referrals.send(session, mulder, form(), CLI_ACTOR, clock.now).id


def _status(app: Flask, back_id: str) -> BackReferralStatus:
    with session_scope(app) as session:
        back = session.get(BackReferral, back_id)
        assert back is not None
        return back.status


def test_the_practice_system_finds_reads_and_takes_over_a_back_referral(app: Flask, clock: FrozenClock,
                                                                         fhir: SyncFHIRClient) -> None:
    back_id = _sent(app, clock)
    found = fhir.resources("ServiceRequest").search(category=CATEGORY).fetch()
    assert [r["id"] for r in found] == [f"terugverwijzing-{back_id}"]
    request: dict[str, Any] = found[0].serialize()  # type: ignore[no-untyped-call]
    assert request["performer"][0]["identifier"]["value"] == "03012345"
    assert request["reasonCode"][0]["coding"][0] == {"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": "K77"}
    patient, role, handover = request["contained"]
    assert patient["identifier"][0]["value"] == "999911120"
    assert role["practitioner"]["identifier"]["value"] == CARDIOLOGIST_AGB
    assert handover["questionnaire"] == QUESTIONNAIRE
    assert [i["linkId"] for i in handover["item"]] == ["gp-plan", "care-programme", "rereferral-criteria",
                                                        "available-for"]
    assert request["note"][0]["text"].startswith("Beleid huisarts: CVRM")

    tasks = fhir.resources("Task").search(code=CATEGORY).fetch()
    assert len(tasks) == 1 and tasks[0]["status"] == "requested"
    task = tasks[0]
    task["status"] = "completed"
    task.save()
    again = fhir.reference("Task", task.id).to_resource()
    assert again["status"] == "completed"
    assert again["businessStatus"]["coding"][0]["code"] == "taken-over"
    assert _status(app, back_id) == BackReferralStatus.ACCEPTED


def test_the_practice_system_asks_a_question_and_takes_over_after_the_answer(app: Flask, clock: FrozenClock,
                                                                             fhir: SyncFHIRClient) -> None:
    back_id = _sent(app, clock)
    task_id = fhir.resources("Task").search(code=CATEGORY).fetch()[0].id
    question = fhir.resource("Communication", status="completed", partOf=[{"reference": f"Task/{task_id}"}],
                             payload=[{"contentString": "Streefwaarde bloeddruk bij deze patiënt?"}])
    question.save()
    assert question.id.startswith("terugverwijzing-")
    assert fhir.reference("Task", task_id).to_resource()["status"] == "on-hold"
    with session_scope(app) as session:
        back = session.get(BackReferral, back_id)
        assert back is not None
        back_referrals.answer(session, back, "dr. P. Mulder", "Systolisch onder 130 mmHg.", CLI_ACTOR, clock.now)
    task = fhir.reference("Task", task_id).to_resource()
    assert task["status"] == "requested"
    thread = fhir.resources("Communication").search(**{"part-of": f"Task/{task_id}"}).fetch()
    assert [m["payload"][0]["contentString"] for m in thread] == ["Streefwaarde bloeddruk bij deze patiënt?",
                                                                   "Systolisch onder 130 mmHg."]
    answer: dict[str, Any] = thread[1].serialize()  # type: ignore[no-untyped-call]
    assert answer["inResponseTo"] == [{"reference": f"Communication/{question.id}"}]
    task["status"] = "completed"
    task.save()
    assert _status(app, back_id) == BackReferralStatus.ACCEPTED


def test_another_practice_gets_a_404_for_de_lindes_back_referral(app: Flask, clock: FrozenClock,
                                                                  other_gp: GPSystem) -> None:
    back_id = _sent(app, clock)
    for path in (f"/fhir/ServiceRequest/terugverwijzing-{back_id}", f"/fhir/Task/terugverwijzing-{back_id}"):
        response = other_gp.get(path)
        assert response.status_code == 404
        assert response.get_json()["resourceType"] == "OperationOutcome"
    listed = other_gp.get(f"/fhir/ServiceRequest?category={CATEGORY}").get_json()
    assert listed["total"] == 0
    with session_scope(app) as session:
        events = session.scalars(select(AuditEntry.event).where(AuditEntry.event == "back-referral-read")).all()
        assert events == []


def test_a_task_set_to_anything_but_completed_is_refused_in_dutch(app: Flask, clock: FrozenClock,
                                                                   gp: GPSystem) -> None:
    gp.language = None  # a GP system that asks for no language gets Dutch
    back_id = _sent(app, clock)
    rid = f"terugverwijzing-{_task(app, back_id)}"
    task = gp.get(f"/fhir/Task/{rid}").get_json()
    response = gp.put(f"/fhir/Task/{rid}", {**task, "status": "cancelled"})
    assert response.status_code == 422
    assert "afgerond" in response.get_json()["issue"][0]["diagnostics"]
    assert _status(app, back_id) == BackReferralStatus.PENDING
    stale = gp.put(f"/fhir/Task/{rid}", {**task, "status": "completed"}, **{"If-Match": 'W/"7"'})
    assert stale.status_code == 412


def test_an_empty_question_is_refused_and_nothing_changes(app: Flask, clock: FrozenClock, gp: GPSystem) -> None:
    back_id = _sent(app, clock)
    rid = f"terugverwijzing-{_task(app, back_id)}"
    response = gp.post("/fhir/Communication", {"resourceType": "Communication", "status": "completed",
                                               "partOf": [{"reference": f"Task/{rid}"}],
                                               "payload": [{"contentString": " "}]})
    assert response.status_code == 422
    assert _status(app, back_id) == BackReferralStatus.PENDING


def _task(app: Flask, back_id: str) -> str:
    with session_scope(app) as session:
        back = session.get(BackReferral, back_id)
        assert back is not None
        return back.task_id
