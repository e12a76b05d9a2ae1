"""The GP's verdict on the advice over FHIR (issue 22, point 4): the published Questionnaire, and a GP system's
QuestionnaireResponse to it: stored once, for its own practice's consult answered with advice, in Dutch or
English when refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.demo import DEMO_USERS
from triage_service.models import AuditEntry, ConsultFact, GpVerdict, User
from triage_service.security.web_auth import inbox_user

QUESTIONNAIRE = "https://fhir.triage-service.nl/Questionnaire/triage-advice-verdict"
WITHOUT = "https://fhir.triage-service.nl/CodeSystem/triage-without-advice"
VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
SCOPES = "system/ServiceRequest.write system/ServiceRequest.read system/QuestionnaireResponse.write " \
         "system/QuestionnaireResponse.read"


def submitted(gp: GPSystem, consult_request: dict[str, Any]) -> str:
    response = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def answered(app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock,
             outcome: str = "primary-care-advice") -> str:
    """A consult of the gp's practice that dr. Visser answered with advice."""
    consult_id = submitted(gp, consult_request)
    referral = ("0310", "routine") if outcome == "referral-indicated" else (None, None)
    with session_scope(app) as session:
        visser = inbox_user(session, str(session.scalar(select(User.id).where(User.username == DEMO_USERS[0][0]))))
        assert visser is not None
        advice.record_advice(session, visser, consult_id, advice.Advice("Advies.", outcome, *referral), clock.now)
    return consult_id


def verdict(consult_id: str, useful: bool = True, without: str = "refer", needed: bool = False) -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "questionnaire": QUESTIONNAIRE, "status": "completed",
            "basedOn": [{"reference": f"ServiceRequest/{consult_id}"}],
            "item": [{"linkId": "useful", "answer": [{"valueBoolean": useful}]},
                     {"linkId": "without-advice", "answer": [{"valueCoding": {"system": WITHOUT, "code": without}}]},
                     {"linkId": "referral-still-needed", "answer": [{"valueBoolean": needed}]}]}


def post(gp: GPSystem, body: dict[str, Any], language: str | None = "en") -> Any:
    headers = gp.headers(SCOPES)
    headers.pop("Accept-Language", None)
    if language:
        headers["Accept-Language"] = language
    return gp.http.post("/fhir/QuestionnaireResponse", data=json.dumps(body), headers=headers)


def get(gp: GPSystem, path: str) -> Any:
    return gp.http.get(path, headers=gp.headers(SCOPES))


def issues(response: Any) -> list[tuple[str, str | None, str]]:
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome", body
    return [(i["code"], (i.get("expression") or [None])[0], i["diagnostics"]) for i in body["issue"]]


# -- the Questionnaire ------------------------------------------------------------------------------------------

def test_the_verdict_questionnaire_is_published_with_its_three_questions(client: Any) -> None:
    response = client.get("/fhir/Questionnaire/triage-advice-verdict")

    assert response.status_code == 200
    questionnaire = response.get_json()
    assert questionnaire["url"] == QUESTIONNAIRE and questionnaire["status"] == "active"
    assert [(i["linkId"], i["type"], i["required"]) for i in questionnaire["item"]] == [
        ("useful", "boolean", True), ("without-advice", "choice", True), ("referral-still-needed", "boolean", True)]
    answers = client.get("/fhir/ValueSet/triage-without-advice").get_json()
    assert questionnaire["item"][1]["answerValueSet"] == answers["url"]
    codes = client.get("/fhir/CodeSystem/triage-without-advice").get_json()["concept"]
    assert [(c["code"], c["designation"][0]["value"]) for c in codes] == [
        ("refer", "Verwezen"), ("not-refer", "Niet verwezen"), ("other", "Iets anders")]


def test_the_questionnaire_is_found_by_its_canonical_url_and_not_by_another(client: Any) -> None:
    found = client.get(f"/fhir/Questionnaire?url={QUESTIONNAIRE}").get_json()
    other = client.get("/fhir/Questionnaire?url=https://example.org/Questionnaire/x").get_json()

    assert found["total"] == 1 and found["entry"][0]["resource"]["id"] == "triage-advice-verdict"
    assert other["total"] == 0


def test_the_capability_statement_names_the_questionnaire_and_its_responses(client: Any) -> None:
    resources = {r["type"]: r for r in client.get("/fhir/metadata").get_json()["rest"][0]["resource"]}

    assert {i["code"] for i in resources["QuestionnaireResponse"]["interaction"]} == {"read", "vread", "create",
                                                                                         "search-type"}
    assert "basedOn ServiceRequest/{id}" in resources["QuestionnaireResponse"]["documentation"]
    assert {i["code"] for i in resources["Questionnaire"]["interaction"]} == {"read", "search-type"}


# -- a good verdict ---------------------------------------------------------------------------------------------

def test_a_verdict_on_answered_advice_is_stored_counted_and_audited(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    clock.advance(hours=2)

    response = post(gp, verdict(consult_id, useful=True, without="refer", needed=False))

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/fhir/QuestionnaireResponse/{body['id']}/_history/1")
    assert body["basedOn"] == [{"reference": f"ServiceRequest/{consult_id}"}]
    assert body["item"] == verdict(consult_id)["item"]
    with session_scope(app) as session:
        stored = session.scalars(select(GpVerdict)).one()
        fact = session.get(ConsultFact, consult_id)
        audit = session.scalars(select(AuditEntry).where(AuditEntry.event == "consult.verdict")).one()
        assert (stored.useful, stored.without_advice, stored.referral_still_needed) == (True, "refer", False)
        assert (stored.source, stored.answered_by, stored.answered_at) == ("fhir", gp.demo.client_id, clock.now)
        assert fact is not None
        assert (fact.verdict_useful, fact.verdict_without, fact.verdict_referral_needed) == (True, "refer", False)
        assert (audit.actor_id, audit.resource_id, audit.action.value) == (gp.demo.client_id, stored.id, "C")
        assert audit.patient_ref and audit.organisation_id and audit.on_behalf_of


def test_a_verdict_on_advice_that_says_refer_is_taken_too(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock, outcome="referral-indicated")

    assert post(gp, verdict(consult_id, useful=True, without="refer", needed=True)).status_code == 201


def test_the_gp_system_reads_its_verdict_back_by_id_and_by_consult(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    created = post(gp, verdict(consult_id, useful=False, without="other", needed=True)).get_json()

    read = get(gp, f"/fhir/QuestionnaireResponse/{created['id']}")
    found = get(gp, f"/fhir/QuestionnaireResponse?based-on=ServiceRequest/{consult_id}").get_json()

    assert read.status_code == 200 and read.get_json() == created
    assert found["total"] == 1 and found["entry"][0]["resource"]["id"] == created["id"]


def test_another_practice_neither_reads_nor_finds_a_verdict(
        app: Flask, gp: GPSystem, other_gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    created = post(gp, verdict(consult_id)).get_json()

    assert get(other_gp, f"/fhir/QuestionnaireResponse/{created['id']}").status_code == 404
    assert get(other_gp, f"/fhir/QuestionnaireResponse?based-on={consult_id}").get_json()["total"] == 0


def test_a_client_without_the_scope_may_not_give_a_verdict(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)

    headers = gp.headers("system/ServiceRequest.write system/QuestionnaireResponse.read")
    response = gp.http.post("/fhir/QuestionnaireResponse", data=json.dumps(verdict(consult_id)), headers=headers)

    assert response.status_code == 403
    assert "system/QuestionnaireResponse.write" in issues(response)[0][2]


# -- refused ------------------------------------------------------------------------------------------------------

def test_a_response_to_another_questionnaire_is_refused_where_it_says_so(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    body = verdict(consult_id)
    body["questionnaire"] = "https://example.org/Questionnaire/phq-9"

    response = post(gp, body)

    assert response.status_code == 422
    assert issues(response) == [("value", "QuestionnaireResponse.questionnaire",
                                 f"questionnaire must be {QUESTIONNAIRE}: this service asks only the GP's verdict "
                                 "on the advice")]


def test_an_unfinished_response_is_refused(app: Flask, gp: GPSystem, consult_request: dict,
                                           clock: FrozenClock) -> None:
    body = verdict(answered(app, gp, consult_request, clock))
    body["status"] = "in-progress"

    response = post(gp, body)

    assert response.status_code == 422
    assert [(code, where) for code, where, _ in issues(response)] == [("value", "QuestionnaireResponse.status")]


def test_a_missing_answer_is_refused_at_the_item_list_and_an_empty_one_at_its_item(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    body = verdict(answered(app, gp, consult_request, clock))
    body["item"] = [body["item"][0], {"linkId": "without-advice"}]  # one empty, one left out

    response = post(gp, body)

    assert response.status_code == 422
    assert issues(response) == [
        ("required", "QuestionnaireResponse.item[1].answer[0]", "Say what you would have done without the advice"),
        ("required", "QuestionnaireResponse.item", "Say whether a referral is still needed")]
    with session_scope(app) as session:
        assert session.scalars(select(GpVerdict)).all() == []


def test_a_code_outside_the_value_set_is_refused(app: Flask, gp: GPSystem, consult_request: dict,
                                                 clock: FrozenClock) -> None:
    body = verdict(answered(app, gp, consult_request, clock))
    body["item"][1]["answer"][0]["valueCoding"]["code"] = "wait-and-see"

    response = post(gp, body)

    assert response.status_code == 422
    assert issues(response) == [(
        "code-invalid", "QuestionnaireResponse.item[1].answer[0]",
        f"without-advice is answered with valueCoding from {WITHOUT}: refer, not-refer, other")]


def test_a_yes_no_question_answered_with_text_and_an_unknown_question_are_refused(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    body = verdict(answered(app, gp, consult_request, clock))
    body["item"][0]["answer"] = [{"valueString": "ja"}]
    body["item"].append({"linkId": "stars", "answer": [{"valueInteger": 5}]})

    response = post(gp, body)

    assert response.status_code == 422
    assert [(code, where) for code, where, _ in issues(response)] == [
        ("value", "QuestionnaireResponse.item[0].answer[0]"), ("value", "QuestionnaireResponse.item[3].linkId")]


def test_a_response_not_based_on_a_consult_is_refused(gp: GPSystem) -> None:
    body = verdict("x")
    body["basedOn"] = [{"reference": "CarePlan/1"}]

    response = post(gp, body)

    assert response.status_code == 422
    assert [(code, where) for code, where, _ in issues(response)] == [("required", "QuestionnaireResponse.basedOn")]


def test_a_verdict_before_the_advice_is_refused_as_a_conflict(gp: GPSystem, consult_request: dict) -> None:
    consult_id = submitted(gp, consult_request)

    response = post(gp, verdict(consult_id))

    assert response.status_code == 409
    assert issues(response) == [("conflict", "QuestionnaireResponse.basedOn[0]",
                                 "The consult has not been answered with advice, so there is no advice to give a "
                                 "verdict on (yet)")]


def test_a_verdict_on_a_declined_consult_is_refused(app: Flask, gp: GPSystem, consult_request: dict,
                                                    clock: FrozenClock) -> None:
    consult_id = submitted(gp, consult_request)
    with session_scope(app) as session:
        visser = inbox_user(session, str(session.scalar(select(User.id).where(User.username == DEMO_USERS[0][0]))))
        assert visser is not None
        advice.decline(session, visser, consult_id, "Geen consultvraag.", clock.now)

    assert post(gp, verdict(consult_id)).status_code == 409


def test_another_practice_s_consult_is_not_found_for_a_verdict(
        app: Flask, gp: GPSystem, other_gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)

    response = post(other_gp, verdict(consult_id))

    assert response.status_code == 404
    assert issues(response)[0][:2] == ("not-found", "QuestionnaireResponse.basedOn[0]")


def test_a_second_verdict_is_a_conflict_and_the_first_stands(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    assert post(gp, verdict(consult_id, useful=True)).status_code == 201

    second = post(gp, verdict(consult_id, useful=False))

    assert second.status_code == 409
    assert issues(second)[0][2] == "The verdict on this advice has already been given; it is given once"
    with session_scope(app) as session:
        assert [v.useful for v in session.scalars(select(GpVerdict))] == [True]


# -- language -----------------------------------------------------------------------------------------------------

def test_a_refused_verdict_is_explained_in_dutch_by_default_with_the_same_codes_and_paths(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    body = verdict(answered(app, gp, consult_request, clock))
    body["item"] = body["item"][:1]
    body["item"][0]["answer"] = [{"valueString": "ja"}]

    dutch = issues(post(gp, copy.deepcopy(body), language=None))
    english = issues(post(gp, body, language="en"))

    assert [d for _, _, d in dutch] == ["useful wordt beantwoord met valueBoolean (true of false)"]
    assert [(c, w) for c, w, _ in dutch] == [(c, w) for c, w, _ in english]
    assert [d for _, _, d in english] == ["useful is answered with valueBoolean (true or false)"]


def test_the_missing_answers_are_named_in_dutch(app: Flask, gp: GPSystem, consult_request: dict,
                                                clock: FrozenClock) -> None:
    body = verdict(answered(app, gp, consult_request, clock))
    body["item"] = []
    del body["item"]

    response = post(gp, body, language=None)

    assert response.status_code == 422
    assert [d for _, _, d in issues(response)] == ["Geef aan of het advies bruikbaar was",
                                                   "Geef aan wat u zonder het advies had gedaan",
                                                   "Geef aan of een verwijzing nog nodig is"]


@pytest.mark.parametrize("language", [None, "en"])
def test_a_second_verdict_is_refused_in_the_request_s_language(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock, language: str | None) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    post(gp, verdict(consult_id))

    [(_, _, diagnostics)] = issues(post(gp, verdict(consult_id), language=language))

    assert diagnostics == {None: "Het oordeel over dit advies is al gegeven; dat kan één keer",
                           "en": "The verdict on this advice has already been given; it is given once"}[language]
