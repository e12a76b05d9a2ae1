"""An urgent question from the out-of-hours post: admitted by the agreements made for it, due within clock hours
at any hour, and outside office hours routed to the specialist on call with the rota's backup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.urgent.hap import KOK, MULDER, OWN_PRACTICE, hap_request, hap_system, put_on_call
from triage_service.database import session_scope
from triage_service.models import Consult, ConsultTask, DeadlineEvent, UrgentCallout

#: Friday 27 November 2026, 22:00 in the Netherlands (CET, UTC+1).
FRIDAY_22 = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


def _sent(app: Flask, response: Any) -> tuple[Consult, ConsultTask, UrgentCallout | None]:
    assert response.status_code == 201, response.get_json()
    with session_scope(app) as session:
        consult = session.get(Consult, response.get_json()["id"])
        assert consult is not None
        task = consult.task
        callout = session.scalar(select(UrgentCallout).where(UrgentCallout.task_id == task.id))
        session.expunge_all()
    return consult, task, callout


def test_an_urgent_hap_consult_on_friday_night_is_due_within_two_hours_and_goes_to_the_cardiologist_on_call(
        app: Flask, clock: FrozenClock, consult_request: dict) -> None:
    clock.now = FRIDAY_22
    put_on_call(app, FRIDAY_22 - timedelta(hours=14), FRIDAY_22 + timedelta(hours=10), on_call=KOK, backup=MULDER)
    hap = hap_system(app, clock)

    consult, task, callout = _sent(app, hap.post("/fhir/ServiceRequest", hap_request(consult_request)))

    # Not Monday 10:00, as a working-day norm made it: the agreement's two clock hours, at night.
    assert task.due_at == FRIDAY_22 + timedelta(hours=2)
    assert (task.owner_kind, task.owner_agb) == ("practitioner", KOK)
    assert consult.patient_practice_agb == OWN_PRACTICE
    assert callout is not None and (callout.on_call_agb, callout.backup_agb) == (KOK, MULDER)
    assert callout.alerts_sent == 1 and callout.next_alert_at == FRIDAY_22 + timedelta(minutes=5)


def test_a_stat_hap_consult_is_due_in_thirty_minutes(app: Flask, clock: FrozenClock, consult_request: dict) -> None:
    clock.now = FRIDAY_22 + timedelta(hours=5)  # Saturday 03:00
    put_on_call(app, FRIDAY_22 - timedelta(hours=14), FRIDAY_22 + timedelta(hours=10))
    _, task, _ = _sent(app, hap_system(app, clock).post("/fhir/ServiceRequest",
                                                        hap_request(consult_request, priority="stat")))
    assert task.due_at == clock.now + timedelta(minutes=30)
    assert task.owner_agb == MULDER


def test_an_absent_specialist_on_call_passes_the_consult_to_the_backup(
        app: Flask, clock: FrozenClock, consult_request: dict) -> None:
    from triage_service.models import Absence, Practitioner

    clock.now = FRIDAY_22
    put_on_call(app, FRIDAY_22 - timedelta(hours=1), FRIDAY_22 + timedelta(hours=10), on_call=MULDER, backup=KOK)
    with session_scope(app) as session:
        mulder = session.scalar(select(Practitioner).where(Practitioner.agb == MULDER))
        assert mulder is not None
        session.add(Absence(practitioner_id=mulder.id, starts_at=FRIDAY_22 - timedelta(hours=2), ends_at=None,
                            reason="ziek"))
    _, task, callout = _sent(app, hap_system(app, clock).post("/fhir/ServiceRequest", hap_request(consult_request)))
    assert task.owner_agb == KOK
    assert callout is not None and callout.on_call_agb == KOK


def test_without_a_rota_the_urgent_consult_goes_to_the_least_loaded_cardiologist_and_is_still_called_out(
        app: Flask, clock: FrozenClock, consult_request: dict) -> None:
    clock.now = FRIDAY_22
    _, task, callout = _sent(app, hap_system(app, clock).post("/fhir/ServiceRequest", hap_request(consult_request)))
    assert task.owner_agb in (MULDER, KOK)
    assert callout is not None and callout.backup_agb == ({MULDER, KOK} - {task.owner_agb}).pop()
    with session_scope(app) as session:
        steps = session.scalars(select(DeadlineEvent.kind).where(DeadlineEvent.task_id == task.id)).all()
    assert steps == ["callout-started"]


def test_a_hap_consult_without_the_patients_own_practice_is_refused_with_the_field_to_fill(
        app: Flask, clock: FrozenClock, consult_request: dict) -> None:
    response = hap_system(app, clock).post("/fhir/ServiceRequest", hap_request(consult_request, own_practice=None))
    assert response.status_code == 422
    issue = response.get_json()["issue"][0]
    assert "generalPractitioner" in issue["expression"][0] and "own GP practice" in issue["diagnostics"]
    with session_scope(app) as session:
        assert session.scalar(select(Consult.id)) is None  # nothing half-stored


def test_a_routine_question_from_the_hap_is_not_agreed(app: Flask, clock: FrozenClock, consult_request: dict) -> None:
    response = hap_system(app, clock).post("/fhir/ServiceRequest",
                                           hap_request(consult_request, priority="routine"))
    assert response.status_code == 422
    reasons = [issue["diagnostics"] for issue in response.get_json()["issue"]]
    assert any("MKC-HAP-CARD" in r and "priority routine is not agreed" in r for r in reasons), reasons


def test_a_gp_practice_cannot_use_the_agreement_made_for_the_out_of_hours_post(
        gp: GPSystem, consult_request: dict) -> None:
    body = new_request(consult_request, priority="stat")
    body["performerType"] = {"coding": [{"system": "urn:oid:2.16.840.1.113883.2.4.6.7", "code": "0320"}]}
    body["reasonCode"] = [{"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": "K77"}]}]
    response = gp.post("/fhir/ServiceRequest", body)
    assert response.status_code == 201, response.get_json()
    task = gp.get(f"/fhir/Task?focus=ServiceRequest/{response.get_json()['id']}").get_json()["entry"][0]["resource"]
    # The practice's own cardiology agreement (working time), not the post's clock-time one.
    assert task["restriction"]["period"]["end"] != response.get_json()["authoredOn"]
    assert "note" not in task or not any("called out" in n["text"] for n in task["note"])


def test_the_post_itself_or_a_hospital_is_refused_as_the_patients_own_practice(
        app: Flask, clock: FrozenClock, consult_request: dict) -> None:
    hap = hap_system(app, clock)
    for agb in ("04010001", "06010001"):  # the post itself, and Ziekenhuis Rivierenland
        response = hap.post("/fhir/ServiceRequest", hap_request(consult_request, own_practice=agb))
        assert response.status_code == 422
        issue = response.get_json()["issue"][0]
        assert "is not a GP practice" in issue["diagnostics"] and "generalPractitioner" in issue["expression"][0]
    # A practice the service does not know (a patient from another region) is accepted.
    unknown = hap.post("/fhir/ServiceRequest", hap_request(consult_request, own_practice="01999999"))
    assert unknown.status_code == 201, unknown.get_json()
