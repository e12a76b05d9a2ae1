"""Every accepted consult reaches a contracted specialist, fairly, with the reason recorded."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import START, FrozenClock, GPSystem, new_request
from triage_service.agreements.absences import add_absence
from triage_service.audit.trail import CLI_ACTOR
from triage_service.database import session_scope
from triage_service.models import AuditEntry, RoutingDecision

VISSER, SMIT = "03100001", "03100002"


def _submit(gp: GPSystem, request: dict[str, Any], **changes: Any) -> Any:
    return gp.post("/fhir/ServiceRequest", new_request(request, **changes))


def _task(gp: GPSystem, response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.get_json()
    bundle = gp.get(f"/fhir/Task?focus={response.get_json()['id']}").get_json()
    task: dict[str, Any] = bundle["entry"][0]["resource"]
    return task


def _owner(gp: GPSystem, response: Any) -> str:
    return str(_task(gp, response)["owner"]["identifier"]["value"])


def _away(app: Flask, agb: str, **period: Any) -> None:
    with session_scope(app) as session:
        add_absence(session, CLI_ACTOR, agb=agb, starts_at=START - timedelta(days=1),
                    ends_at=period.get("until"), reason="vakantie")


def test_consults_are_spread_over_the_specialists_by_outstanding_work(gp: GPSystem, consult_request: dict) -> None:
    owners = [_owner(gp, _submit(gp, consult_request)) for _ in range(4)]
    assert sorted(owners) == [VISSER, VISSER, SMIT, SMIT]
    assert owners[0] != owners[1]


def test_an_absent_specialist_gets_no_new_consults(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    _away(app, VISSER)
    assert {_owner(gp, _submit(gp, consult_request)) for _ in range(3)} == {SMIT}


def test_an_absence_that_has_ended_no_longer_counts(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    _away(app, VISSER, until=START - timedelta(hours=1))
    assert {_owner(gp, _submit(gp, consult_request)) for _ in range(2)} == {VISSER, SMIT}


def test_when_every_specialist_is_away_the_consult_waits_in_the_groups_queue(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    _away(app, VISSER)
    _away(app, SMIT)
    task = _task(gp, _submit(gp, consult_request))
    assert task["owner"]["type"] == "Organization"
    assert task["owner"]["identifier"]["value"] == "06010001"


def test_a_group_queue_agreement_assigns_to_the_group(gp: GPSystem, consult_request: dict) -> None:
    body = copy.deepcopy(consult_request)
    body["performerType"]["coding"][0].update(code="0305", display="Orthopedics")
    body["reasonCode"][0]["coding"][0].update(code="L15", display="Knieklachten")
    body["code"]["coding"][0]["code"] = "e-consult"
    task = _task(gp, _submit(gp, body))
    assert task["owner"]["type"] == "Organization"
    assert task["owner"]["display"] == "Orthopedisch Centrum Maasstad"


def test_an_urgent_consult_goes_to_whoever_has_the_least_urgent_work(gp: GPSystem, consult_request: dict) -> None:
    first_urgent = _owner(gp, _submit(gp, consult_request, priority="urgent"))
    routine = [_owner(gp, _submit(gp, consult_request)) for _ in range(2)]
    second_urgent = _owner(gp, _submit(gp, consult_request, priority="urgent"))
    assert second_urgent != first_urgent
    assert sorted(routine) == [VISSER, SMIT]


def test_a_requested_specialist_is_honoured_when_the_agreement_covers_them(gp: GPSystem,
                                                                           consult_request: dict) -> None:
    _submit(gp, consult_request)  # Visser or Smit now has one more consult
    performer = {"type": "PractitionerRole", "identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z",
                                                             "value": SMIT}}
    owners = {_owner(gp, _submit(gp, consult_request, performer=[performer])) for _ in range(3)}
    assert owners == {SMIT}


def test_a_requested_specialist_outside_the_agreements_is_refused(gp: GPSystem, consult_request: dict) -> None:
    performer = {"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03200001"}}
    response = _submit(gp, consult_request, performer=[performer])
    assert response.status_code == 422
    assert "requested specialist does not answer under this agreement" in response.get_json()["issue"][0][
        "diagnostics"]


def test_the_due_time_follows_the_agreements_norm_in_working_days(
        gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    clock.now = START.replace(day=27, hour=15)  # Friday 27 November 2026, 16:00 in Amsterdam
    task = _task(gp, _submit(gp, consult_request, authoredOn="2026-11-27T15:00:00Z"))
    # Dermatology routine norm: 2 working days -> Tuesday 1 December 16:00 local (15:00 UTC).
    assert task["restriction"]["period"]["end"] == "2026-12-01T15:00:00Z"


def test_the_routing_decision_is_stored_with_candidates_and_reason(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    response = _submit(gp, consult_request)
    task = _task(gp, response)
    with session_scope(app) as session:
        decision = session.scalar(select(RoutingDecision).where(
            RoutingDecision.consult_id == response.get_json()["id"]))
        assert decision is not None
        assert decision.owner_agb == task["owner"]["identifier"]["value"]
        assert sorted(c["agb"] for c in decision.candidates) == [VISSER, SMIT]
        assert [c["chosen"] for c in decision.candidates].count(True) == 1
        assert "Profile 'Huidafwijkingen volwassenen (overleg zonder foto's)'" in decision.reason
        assert "MKC-DERM" in decision.reason
        audit = session.scalar(select(AuditEntry).where(AuditEntry.event == "routing.assign"))
        assert audit is not None and audit.resource_id == task["id"]


def test_an_insurer_outside_every_agreement_is_explained_to_the_gp(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    coverage = next(c for c in consult_request["contained"] if c["resourceType"] == "Coverage")
    coverage["payor"][0]["identifier"]["value"] = "3343"
    response = _submit(gp, consult_request)
    assert response.status_code == 422
    issue = response.get_json()["issue"][0]
    assert issue["code"] == "business-rule"
    assert "Dermatology" in issue["diagnostics"] and "UZOVI 3343 is not covered" in issue["diagnostics"]


def test_a_photo_consult_without_photos_is_told_how_many_are_needed(gp: GPSystem, consult_request: dict) -> None:
    consult_request["code"]["coding"][0]["code"] = "e-consult"
    response = _submit(gp, consult_request)
    assert response.status_code == 422
    assert "2 photos are required (0 attached)" in response.get_json()["issue"][0]["diagnostics"]


def test_a_specialism_without_any_agreement_is_refused(gp: GPSystem, consult_request: dict) -> None:
    consult_request["performerType"]["coding"][0].update(code="0329", display="Psychiatry")
    response = _submit(gp, consult_request)
    assert response.status_code == 422
    assert response.get_json()["issue"][0]["diagnostics"].startswith("No collaboration agreement covers")


def test_validate_explains_a_request_that_would_not_route(gp: GPSystem, consult_request: dict) -> None:
    consult_request["performerType"]["coding"][0].update(code="0329", display="Psychiatry")
    response = gp.post("/fhir/ServiceRequest/$validate", consult_request)
    assert response.status_code == 200
    assert any("No collaboration agreement covers" in i["diagnostics"] for i in response.get_json()["issue"])


def test_a_refused_request_stores_nothing(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    from sqlalchemy import func

    from triage_service.models import Consult, StoredResource

    consult_request["performerType"]["coding"][0].update(code="0329", display="Psychiatry")
    _submit(gp, consult_request)
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Consult)) == 0
        assert session.scalar(select(func.count()).select_from(StoredResource)) == 0


def test_with_equal_work_the_specialist_never_assigned_before_gets_the_next_consult(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    from triage_service.models import ConsultTask, TaskStatus

    first = _submit(gp, consult_request)
    assert _owner(gp, first) == VISSER  # neither had one: the lower AGB
    with session_scope(app) as session:  # answered: no open work for either of them now
        task = session.scalars(select(ConsultTask).where(ConsultTask.consult_id == first.get_json()["id"])).one()
        task.status = TaskStatus.COMPLETED

    assert _owner(gp, _submit(gp, consult_request)) == SMIT  # Visser had one more recently
