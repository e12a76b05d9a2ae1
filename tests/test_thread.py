"""Closing the loop with the GP over FHIR: the GP system reads the specialist's question, answers it, reads
the advice and acknowledges it, with a real FHIR client library; bad messages get a clear 4xx."""

from __future__ import annotations

from typing import Any

import pytest
from fhirpy import SyncFHIRClient
from flask import Flask

from tests.conftest import FrozenClock, GPSystem, new_request
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.security.web_auth import inbox_user

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
CATEGORY = "https://fhir.triage-service.nl/CodeSystem/triage-message-category"


def _specialist(app: Flask) -> Any:
    from sqlalchemy import select

    from triage_service.models import User

    with session_scope(app) as session:
        user_id = session.scalar(select(User.id).where(User.username == "dermatoloog"))
        return inbox_user(session, str(user_id))


def _ask(app: Flask, consult_id: str, question: str) -> None:
    from tests.conftest import START

    with session_scope(app) as session:
        advice.ask_gp(session, _specialist(app), consult_id, question, START)


def _answer(app: Flask, consult_id: str) -> None:
    from tests.conftest import START

    with session_scope(app) as session:
        advice.record_advice(session, _specialist(app), consult_id,
                             advice.Advice("Excisie in de eerste lijn; PA insturen.", "primary-care-advice"), START)


def _reply(consult_id: str, task_id: str, question_id: str | None, text: str = "Ja, twee keer licht gebloed.",
           category: str = "information-provided") -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Communication", "status": "completed", "sent": "2026-11-23T10:00:00+01:00",
        "basedOn": [{"reference": f"ServiceRequest/{consult_id}"}], "partOf": [{"reference": f"Task/{task_id}"}],
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "sender": {"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "01012345"},
                   "display": "dr. A. Jansen"},
        "payload": [{"contentString": text}]}
    if question_id:
        body["inResponseTo"] = [{"reference": f"Communication/{question_id}"}]
    return body


@pytest.fixture
def fhir(live_server: str, gp: GPSystem) -> SyncFHIRClient:
    return SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}",
                          extra_headers={"Content-Type": "application/fhir+json"})


def test_the_gp_system_follows_the_whole_loop_with_a_fhir_client(
        app: Flask, fhir: SyncFHIRClient, consult_request: dict) -> None:
    body = new_request(consult_request, performer=VISSER)
    body.pop("id")
    consult = fhir.resource("ServiceRequest", **body)
    consult.save()
    task = fhir.resources("Task").search(focus=f"ServiceRequest/{consult.id}").fetch()[0]
    assert task["status"] == "accepted"

    _ask(app, consult.id, "Is de laesie gebloed?")
    questions = fhir.resources("Communication").search(**{"based-on": f"ServiceRequest/{consult.id}",
                                                           "category": "request-for-information"}).fetch()
    assert [q["payload"][0]["contentString"] for q in questions] == ["Is de laesie gebloed?"]
    assert fhir.reference("Task", task.id).to_resource()["status"] == "on-hold"

    fhir.resource("Communication", **_reply(consult.id, task.id, questions[0].id)).save()
    back = fhir.reference("Task", task.id).to_resource()
    assert (back["status"], back["businessStatus"]["coding"][0]["code"]) == ("in-progress", "information-received")

    _answer(app, consult.id)
    done = fhir.reference("Task", task.id).to_resource()
    assert done["status"] == "completed"
    advice_ref = next(o for o in done["output"] if o["type"]["text"] == "advice-message")["valueReference"]["reference"]
    assert fhir.reference(*advice_ref.split("/")).to_resource()["payload"][0]["contentString"].startswith("Excisie")

    done["businessStatus"] = {"coding": [{"system": done["businessStatus"]["coding"][0]["system"],
                                          "code": "advice-acknowledged"}]}
    acknowledged = fhir.resource("Task", **done)
    acknowledged.save()
    assert fhir.reference("Task", task.id).to_resource()["businessStatus"]["coding"][0]["code"] == \
        "advice-acknowledged"


@pytest.fixture
def asked(app: Flask, gp: GPSystem, consult_request: dict) -> tuple[str, str, str]:
    consult_id = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER)).get_json()["id"]
    task_id = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]["id"]
    _ask(app, consult_id, "Foto van dichtbij?")
    question = gp.get(f"/fhir/Communication?based-on={consult_id}").get_json()["entry"][0]["resource"]["id"]
    return consult_id, task_id, question


def test_an_answer_to_a_question_that_does_not_exist_is_refused(gp: GPSystem, asked: tuple[str, str, str]) -> None:
    consult_id, task_id, _ = asked
    response = gp.post("/fhir/Communication", _reply(consult_id, task_id, "00000000-0000-4000-8000-000000000000"))
    assert response.status_code == 422
    assert response.get_json()["issue"][0]["expression"] == ["Communication.inResponseTo[0]"]


def test_an_answer_without_the_question_it_answers_is_refused(gp: GPSystem, asked: tuple[str, str, str]) -> None:
    consult_id, task_id, _ = asked
    response = gp.post("/fhir/Communication", _reply(consult_id, task_id, None))
    assert response.status_code == 422


def test_a_message_to_a_completed_consult_is_refused(app: Flask, gp: GPSystem, asked: tuple[str, str, str]) -> None:
    consult_id, task_id, question = asked
    _answer(app, consult_id)
    response = gp.post("/fhir/Communication", _reply(consult_id, task_id, question))
    assert response.status_code == 409


def test_a_message_to_another_practices_consult_is_not_found(
        other_gp: GPSystem, asked: tuple[str, str, str]) -> None:
    consult_id, task_id, question = asked
    assert other_gp.post("/fhir/Communication", _reply(consult_id, task_id, question)).status_code == 404
    assert other_gp.get(f"/fhir/Communication/{question}").status_code == 404
    assert other_gp.get(f"/fhir/Communication?based-on={consult_id}").get_json()["total"] == 0


def test_a_gp_cannot_send_advice_or_questions_as_the_specialist(gp: GPSystem, asked: tuple[str, str, str]) -> None:
    consult_id, task_id, question = asked
    response = gp.post("/fhir/Communication", _reply(consult_id, task_id, question, category="advice"))
    assert response.status_code == 422


def test_an_empty_message_is_refused(gp: GPSystem, asked: tuple[str, str, str]) -> None:
    consult_id, task_id, question = asked
    response = gp.post("/fhir/Communication", _reply(consult_id, task_id, question, text="   "))
    assert response.status_code in (400, 422)


def test_advice_that_was_not_given_cannot_be_acknowledged(gp: GPSystem, asked: tuple[str, str, str]) -> None:
    _, task_id, _ = asked
    task = gp.get(f"/fhir/Task/{task_id}").get_json()
    task["status"] = "completed"
    task["businessStatus"]["coding"][0]["code"] = "advice-acknowledged"
    assert gp.put(f"/fhir/Task/{task_id}", task).status_code in (409, 422)


def test_the_gps_answer_shows_in_the_specialists_thread(app: Flask, gp: GPSystem, asked: tuple[str, str, str],
                                                       clock: FrozenClock) -> None:
    from triage_service.web.inbox import consult_detail

    consult_id, task_id, question = asked
    clock.advance(seconds=30)  # the thread is in the order things were said; at one frozen moment it has none
    gp.post("/fhir/Communication", _reply(consult_id, task_id, question))
    with session_scope(app) as session:
        detail = consult_detail(session, _specialist(app), consult_id)
        assert detail is not None
        assert [(m.category.value, m.sender_role) for m in detail.messages] == [
            ("request-for-information", "specialist"), ("information-provided", "gp")]


def test_the_server_messages_conform_to_the_consult_message_profile(gp: GPSystem,
                                                                   asked: tuple[str, str, str]) -> None:
    from triage_service.fhir.profiles import PROFILE_CONSULT_MESSAGE, registry

    consult_id, _, _ = asked
    for entry in gp.get(f"/fhir/Communication?based-on={consult_id}").get_json()["entry"]:
        assert registry().validate(entry["resource"], PROFILE_CONSULT_MESSAGE) == []




def _extra_photo(gp: GPSystem) -> str:
    from tests.test_photos import jpeg_with_gps, photo_document, upload

    binary = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
    document = gp.post("/fhir/DocumentReference", photo_document(binary, title="close-up"))
    assert document.status_code == 201, document.get_json()
    return str(document.get_json()["id"])


def test_an_answer_can_bring_extra_photos_that_the_specialist_sees(
        app: Flask, gp: GPSystem, asked: tuple[str, str, str]) -> None:
    from triage_service.web.inbox import consult_detail

    consult_id, task_id, question = asked
    document = _extra_photo(gp)
    body = _reply(consult_id, task_id, question, text="Hierbij een close-up.")
    body["payload"].append({"contentReference": {"reference": f"DocumentReference/{document}"}})
    response = gp.post("/fhir/Communication", body)
    assert response.status_code == 201, response.get_json()

    assert {"contentReference": {"reference": f"DocumentReference/{document}"}} in response.get_json()["payload"]
    with session_scope(app) as session:
        detail = consult_detail(session, _specialist(app), consult_id)
        assert detail is not None
        assert "close-up" in [p.title for p in detail.photos]


def test_photos_alone_answer_a_question(gp: GPSystem, asked: tuple[str, str, str]) -> None:
    consult_id, task_id, question = asked
    body = _reply(consult_id, task_id, question)
    body["payload"] = [{"contentReference": {"reference": f"DocumentReference/{_extra_photo(gp)}"}}]

    assert gp.post("/fhir/Communication", body).status_code == 201


def test_a_photo_of_another_practice_or_inline_is_refused(
        gp: GPSystem, other_gp: GPSystem, asked: tuple[str, str, str]) -> None:
    consult_id, task_id, question = asked
    theirs = _extra_photo(other_gp)
    body = _reply(consult_id, task_id, question)
    body["payload"].append({"contentReference": {"reference": f"DocumentReference/{theirs}"}})
    refused = gp.post("/fhir/Communication", body)
    assert refused.status_code == 422
    assert refused.get_json()["issue"][0]["expression"] == ["Communication.payload[1].contentReference"]

    inline = _reply(consult_id, task_id, question)
    inline["payload"].append({"contentAttachment": {"contentType": "image/jpeg", "data": "AAAA"}})
    assert gp.post("/fhir/Communication", inline).status_code == 422


def test_more_photos_than_a_consult_may_carry_are_refused(
        app: Flask, gp: GPSystem, asked: tuple[str, str, str]) -> None:
    consult_id, task_id, question = asked
    limit = app.extensions["triage.settings"].max_attachments_per_consult
    body = _reply(consult_id, task_id, question)
    document = _extra_photo(gp)
    body["payload"] += [{"contentReference": {"reference": f"DocumentReference/{document}"}}] * (limit + 1)

    response = gp.post("/fhir/Communication", body)
    assert response.status_code == 422
    assert "at most" in response.get_json()["issue"][0]["diagnostics"]


def test_a_message_to_a_cancelled_consult_is_refused(gp: GPSystem, asked: tuple[str, str, str]) -> None:
    consult_id, task_id, question = asked
    task = gp.get(f"/fhir/Task/{task_id}").get_json()
    task["status"] = "cancelled"
    assert gp.put(f"/fhir/Task/{task_id}", task).status_code == 200

    assert gp.post("/fhir/Communication", _reply(consult_id, task_id, question)).status_code == 409
