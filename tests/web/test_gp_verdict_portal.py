"""The GP's verdict on the advice in the portal (issue 22, point 4): three questions on the consult page once the
advice is there, nothing preselected, answered in words, refused in Dutch beside the question, given once."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.test_gp_verdict import answered, submitted
from tests.web.test_inbox import csrf
from tests.web.test_portal import ASSISTANT, BAKKER, gp_logs_in
from triage_service.database import session_scope
from triage_service.models import AuditEntry, ConsultFact, GpVerdict, User

ANSWERS = {"useful": "yes", "without-advice": "refer", "referral-still-needed": "no"}


def give(browser: FlaskClient, consult_id: str, answers: dict[str, str]) -> Any:
    page = browser.get(f"/huisarts/consults/{consult_id}")
    return browser.post(f"/huisarts/consults/{consult_id}/oordeel", data={**answers, "csrf_token": csrf(page)})


def test_the_consult_page_asks_the_three_questions_once_the_advice_is_there_with_nothing_chosen(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    browser = app.test_client()
    gp_logs_in(browser, clock)

    page = browser.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True)

    assert "Uw oordeel over het advies" in page
    for question in ("Was het advies bruikbaar?", "Wat had u zonder het advies gedaan?",
                     "Is een verwijzing nog nodig?"):
        assert question in page
    assert "Verwezen" in page and "Niet verwezen" in page and "Iets anders" in page
    assert page.count('type="radio"') == 7 and "checked" not in page.split('id="oordeel"')[1]


def test_an_open_consult_asks_no_verdict_yet(app: Flask, gp: GPSystem, consult_request: dict,
                                            clock: FrozenClock) -> None:
    consult_id = submitted(gp, consult_request)
    browser = app.test_client()
    gp_logs_in(browser, clock)

    assert "Uw oordeel over het advies" not in browser.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True)


def test_the_gp_gives_the_verdict_and_the_page_says_so_and_shows_it(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    browser = app.test_client()
    gp_logs_in(browser, clock)

    response = give(browser, consult_id, ANSWERS)

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/consults/{consult_id}#oordeel")
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dank u, uw oordeel is opgeslagen." in page
    shown = page.split('id="oordeel"')[1].split("</section>")[0]
    assert "<form" not in shown and "Verwezen" in shown and "Gegeven op" in shown
    with session_scope(app) as session:
        verdict = session.scalars(select(GpVerdict)).one()
        jansen = session.scalar(select(User.id).where(User.username == "huisarts"))
        assert (verdict.useful, verdict.without_advice, verdict.referral_still_needed) == (True, "refer", False)
        assert (verdict.source, verdict.answered_by) == ("portal", jansen)
        fact = session.get(ConsultFact, consult_id)
        assert fact is not None and fact.verdict_without == "refer"
        audit = session.scalars(select(AuditEntry).where(AuditEntry.event == "consult.verdict")).one()
        assert (audit.actor_kind, audit.actor_id, audit.resource_id) == ("user", "huisarts", verdict.id)


def test_missing_answers_are_named_in_dutch_beside_their_questions_and_the_chosen_one_is_kept(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    browser = app.test_client()
    gp_logs_in(browser, clock)

    response = give(browser, consult_id, {"without-advice": "other"})

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<p class="error" id="useful-error">Geef aan of het advies bruikbaar was</p>' in page
    assert '<p class="error" id="referral-still-needed-error">Geef aan of een verwijzing nog nodig is</p>' in page
    assert "without-advice-error" not in page
    assert 'value="other" checked' in page
    with session_scope(app) as session:
        assert session.scalars(select(GpVerdict)).all() == []


def test_an_answer_that_is_not_one_of_the_choices_is_refused(app: Flask, gp: GPSystem, consult_request: dict,
                                                            clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    browser = app.test_client()
    gp_logs_in(browser, clock)

    response = give(browser, consult_id, {**ANSWERS, "useful": "misschien", "without-advice": "wait"})

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Geef aan of het advies bruikbaar was" in page and "Geef aan wat u zonder het advies had gedaan" in page


def test_a_second_verdict_is_refused_with_the_reason_on_the_page(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    browser = app.test_client()
    gp_logs_in(browser, clock)
    page = browser.get(f"/huisarts/consults/{consult_id}")
    token = csrf(page)
    assert browser.post(f"/huisarts/consults/{consult_id}/oordeel",
                        data={**ANSWERS, "csrf_token": token}).status_code == 302

    again = browser.post(f"/huisarts/consults/{consult_id}/oordeel",
                         data={**ANSWERS, "useful": "no", "csrf_token": token})

    assert again.status_code == 409
    assert "Het oordeel over dit advies is al gegeven" in again.get_data(as_text=True)
    with session_scope(app) as session:
        assert [v.useful for v in session.scalars(select(GpVerdict))] == [True]


def test_a_verdict_before_the_advice_is_refused_in_words(app: Flask, gp: GPSystem, consult_request: dict,
                                                        clock: FrozenClock) -> None:
    consult_id = submitted(gp, consult_request)
    browser = app.test_client()
    gp_logs_in(browser, clock)

    response = give(browser, consult_id, ANSWERS)

    assert response.status_code == 409
    assert "Het consult is (nog) niet met een advies beantwoord" in response.get_data(as_text=True)


def test_the_assistant_sees_no_form_and_may_not_give_the_verdict(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    browser = app.test_client()
    gp_logs_in(browser, clock, ASSISTANT)

    assert "Uw oordeel over het advies" not in browser.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True)
    assert give(browser, consult_id, ANSWERS).status_code == 403


def test_another_practice_s_gp_gets_not_found(app: Flask, gp: GPSystem, consult_request: dict,
                                             clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    browser = app.test_client()
    gp_logs_in(browser, clock, BAKKER)
    token = csrf(browser.get("/huisarts/"))

    response = browser.post(f"/huisarts/consults/{consult_id}/oordeel", data={**ANSWERS, "csrf_token": token})

    assert response.status_code == 404


def test_without_the_csrf_token_nothing_is_stored(app: Flask, gp: GPSystem, consult_request: dict,
                                                  clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    browser = app.test_client()
    gp_logs_in(browser, clock)

    assert browser.post(f"/huisarts/consults/{consult_id}/oordeel", data=ANSWERS).status_code == 400
    with session_scope(app) as session:
        assert session.scalars(select(GpVerdict)).all() == []
