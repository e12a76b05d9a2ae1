"""Back-referrals as the specialist's inbox shows them after the new-user walkthrough: the inbox's link counts the
practices' questions waiting for an answer (gone once answered) and the list marks them; a first-line specialist
(kaderhuisarts, optometrist, extended-scope physiotherapist) is offered no back-referral and is refused its
screens; an empty BSN is asked for rather than called invalid; a refused form sums up its errors above it, each a
link to its field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.test_first_line import first_line_request, submit
from tests.web.test_back_referral_screens import CARDIOLOGIST, FORM, GP, _client, _send
from tests.web.test_inbox import csrf, log_in
from triage_service.consults import back_referrals
from triage_service.consults.back_referrals import BackReferralForm
from triage_service.database import session_scope
from triage_service.errors import FormErrors
from triage_service.models import Practitioner
from triage_service.security.demo_credentials import DEMO_USERS

FIRST_LINE_ACCOUNTS = ("kaderhuisarts", "optometrist", "fysiotherapeut")
ACCOUNTS = {user[0]: user for user in DEMO_USERS}
LINK = "Terugverwijzingen naar de huisarts"


def _inbox_link(client: FlaskClient) -> str | None:
    page = client.get("/inbox").get_data(as_text=True)
    found = re.search(r'<p class="back-referral-link">(.*?)</p>', page, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else None


def _summary_targets(page: str) -> list[str]:
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert summary is not None, "no error summary on the page"
    return re.findall(r'<a href="#([^"]+)">', summary.group(0))


def test_the_inbox_link_counts_a_practice_s_question_until_the_specialist_answers_it(
        app: Flask, clock: FrozenClock) -> None:
    cardiologist, back_id = _send(app, clock)
    assert _inbox_link(cardiologist) == LINK

    gp = _client(app, clock, GP)
    page = gp.get(f"/huisarts/terugverwijzingen/{back_id}")
    asked = gp.post(f"/huisarts/terugverwijzingen/{back_id}/vraag",
                    data={"question": "Welke streefwaarde?", "csrf_token": csrf(page)})
    assert asked.status_code == 302
    assert _inbox_link(cardiologist) == f"{LINK} 1 vraag wacht"
    listing = cardiologist.get("/inbox/terugverwijzingen").get_data(as_text=True)
    assert "1 terugverwijzing wacht op uw antwoord op de vraag van de praktijk" in listing
    assert '<li class="waiting-answer">' in listing

    page = cardiologist.get(f"/inbox/terugverwijzingen/{back_id}")
    answered = cardiologist.post(f"/inbox/terugverwijzingen/{back_id}/antwoord",
                                 data={"answer": "Systolisch onder 130.", "csrf_token": csrf(page)})
    assert answered.status_code == 302
    assert _inbox_link(cardiologist) == LINK
    assert "waiting-answer" not in cardiologist.get("/inbox/terugverwijzingen").get_data(as_text=True)


def test_the_count_is_of_the_specialist_s_own_questioned_back_referrals_only(app: Flask, clock: FrozenClock) -> None:
    _, back_id = _send(app, clock)
    with session_scope(app) as session:
        mine = session.scalars(select(Practitioner).where(Practitioner.agb == CARDIOLOGIST[2])).one()
        back = back_referrals.for_specialist(session, mine.id, back_id, back_referrals_actor(), clock.now)
        back_referrals.ask(session, back, "dr. Jansen", "Welke streefwaarde?", back_referrals_actor(), clock.now)
        assert back_referrals.questions_waiting(session, mine.id) == 1
        others = session.scalars(select(Practitioner).where(Practitioner.agb != mine.agb)).all()
        assert all(back_referrals.questions_waiting(session, other.id) == 0 for other in others)
        assert back_referrals.questions_waiting(session, None) == 0


def back_referrals_actor() -> Any:
    from triage_service.audit.trail import CLI_ACTOR
    return CLI_ACTOR


def test_only_a_second_line_specialist_refers_back(app: Flask) -> None:
    with session_scope(app) as session:
        by_agb = {p.agb: p for p in session.scalars(select(Practitioner))}
        assert back_referrals.may_refer_back(by_agb[CARDIOLOGIST[2]])
        for account in FIRST_LINE_ACCOUNTS:
            assert not back_referrals.may_refer_back(by_agb[ACCOUNTS[account][2]]), account
        assert not back_referrals.may_refer_back(None)


@pytest.mark.parametrize("account", FIRST_LINE_ACCOUNTS)
def test_a_first_line_specialist_is_offered_no_back_referral_and_refused_its_screens(
        app: Flask, clock: FrozenClock, account: str) -> None:
    _, back_id = _send(app, clock)
    who = ACCOUNTS[account]
    client = app.test_client()
    assert log_in(client, clock, username=who[0], secret=who[-1]).status_code == 302
    assert client.get("/inbox").status_code == 200
    assert _inbox_link(client) is None
    for url in ("/inbox/terugverwijzingen", "/inbox/terugverwijzingen/nieuw", f"/inbox/terugverwijzingen/{back_id}",
                f"/inbox/terugverwijzingen/{back_id}/brief.pdf"):
        refused = client.get(url)
        assert refused.status_code == 403, url
        assert "een specialist in de eerste lijn verwijst geen patiënten terug" in refused.get_data(as_text=True)
    token = csrf(client.get("/inbox"))
    for url, data in (("/inbox/terugverwijzingen/nieuw", FORM),
                      (f"/inbox/terugverwijzingen/{back_id}/antwoord", {"answer": "Ja."})):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, url


def test_a_kaderhuisarts_s_consult_page_offers_no_back_referral_but_a_dermatologist_s_does(
        app: Flask, clock: FrozenClock, gp: GPSystem, consult_request: dict[str, Any]) -> None:
    kader = submit(gp, clock, first_line_request(consult_request, "kaderhuisarts-dermatologie", "S88"), clock.now)
    client = _client(app, clock, ACCOUNTS["kaderhuisarts"])
    page = client.get(f"/consults/{kader}")
    assert page.status_code == 200
    assert "Terugverwijzen naar de huisarts" not in page.get_data(as_text=True)
    assert client.get(f"/inbox/terugverwijzingen/nieuw?consult={kader}").status_code == 403

    dermatology = gp.post("/fhir/ServiceRequest", consult_request).get_json()["id"]
    visser = app.test_client()
    log_in(visser, clock)
    assert "Terugverwijzen naar de huisarts" in visser.get(f"/consults/{dermatology}").get_data(as_text=True)


def test_the_domain_refuses_a_back_referral_from_a_first_line_specialist(app: Flask, clock: FrozenClock) -> None:
    from triage_service.errors import Forbidden
    with session_scope(app) as session:
        kuipers = session.scalars(select(Practitioner).where(Practitioner.agb == ACCOUNTS["kaderhuisarts"][2])).one()
        with pytest.raises(Forbidden):
            back_referrals.send(session, kuipers, _form(), back_referrals_actor(), clock.now)


def _form(**changes: str) -> BackReferralForm:
    values = {**FORM, "patient_birth_date": "1948-03-02", "available_until": "2027-06-01", **changes}
    return BackReferralForm(**values)


def test_an_empty_bsn_and_birth_date_are_asked_for_not_called_invalid(app: Flask, clock: FrozenClock) -> None:
    with session_scope(app) as session:
        mulder = session.scalars(select(Practitioner).where(Practitioner.agb == CARDIOLOGIST[2])).one()
        with pytest.raises(FormErrors) as refused:
            back_referrals.checked(session, mulder, _form(patient_bsn=" ", patient_birth_date=""), clock.now.date())
    assert refused.value.errors["patient_bsn"] == "Enter the patient's BSN"
    assert refused.value.errors["patient_birth_date"] == "Enter the patient's date of birth"

    cardiologist = _client(app, clock, CARDIOLOGIST)
    page = cardiologist.get("/inbox/terugverwijzingen/nieuw")
    empty = cardiologist.post("/inbox/terugverwijzingen/nieuw",
                              data={**FORM, "patient_bsn": "", "csrf_token": csrf(page)}).get_data(as_text=True)
    assert "Vul het BSN van de patiënt in" in empty
    assert "geen geldig BSN" not in empty


def test_the_back_referral_form_s_summary_links_each_error_to_its_field(app: Flask, clock: FrozenClock) -> None:
    cardiologist = _client(app, clock, CARDIOLOGIST)
    page = cardiologist.get("/inbox/terugverwijzingen/nieuw")
    refused = cardiologist.post("/inbox/terugverwijzingen/nieuw", data={
        **FORM, "patient_bsn": "", "diagnosis_icpc": "", "gp_plan": "", "csrf_token": csrf(page)})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Niet verstuurd: controleer de gemarkeerde velden hieronder." in text
    # In the form's order, each to a field that is there.
    assert _summary_targets(text) == ["patient_bsn", "diagnosis_icpc", "gp_plan"]
    assert all(f'id="{target}" name="{target}"' in text for target in _summary_targets(text))


def test_the_answer_form_s_summary_at_the_top_of_the_consult_links_each_error_to_its_field(
        app: Flask, clock: FrozenClock, gp: GPSystem, consult_request: dict[str, Any]) -> None:
    consult_id = gp.post("/fhir/ServiceRequest", consult_request).get_json()["id"]
    visser = app.test_client()
    log_in(visser, clock)
    page = visser.get(f"/consults/{consult_id}")
    assert "error-summary" not in page.get_data(as_text=True)
    refused = visser.post(f"/consults/{consult_id}/answer", data={
        "advice": "", "outcome": "", "minutes": "abc", "csrf_token": csrf(page)})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    targets = _summary_targets(text)
    assert set(targets) == {"advice", "outcome-primary-care-advice", "minutes"}
    assert all(f'id="{target}"' in text for target in targets)
    # Above the form: the summary comes before the answer section.
    assert text.index('class="error-summary"') < text.index('id="answer-title"')
