"""A specialist's daily work in the inbox (issue 21): rows that carry what they triage on, the five views,
the BSN search, time registered on every action with the agreement's norm as default, what was sent, and
personal text snippets."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.web.test_actions import consult_id as consult_id
from tests.web.test_actions import gp_task, post
from tests.web.test_actions import specialist as specialist
from tests.web.test_inbox import csrf, log_in
from triage_service.database import session_scope
from triage_service.demo import DEMO_USERS
from triage_service.models import Agreement, AuditEntry, Consult, Organisation, TextSnippet, TimeRegistration

BSN = "999990019"  # the example request's patient


def tab(client: FlaskClient, view: str) -> str:
    return client.get(f"/inbox?view={view}").get_data(as_text=True)


@pytest.fixture
def norm_of_12(app: Flask) -> Iterator[None]:
    """Every agreement's norm time 12 minutes for this test; the agreements' own afterwards."""
    with session_scope(app) as session:
        before = {a.id: a.norm_minutes for a in session.scalars(select(Agreement))}
        for agreement in session.scalars(select(Agreement)):
            agreement.norm_minutes = {"e-consult": 12, "intercollegial-consult": 12}
    yield
    with session_scope(app) as session:
        for agreement in session.scalars(select(Agreement)):
            agreement.norm_minutes = before[agreement.id]


def registrations(app: Flask, consult_id: str) -> list[tuple[str, int | None]]:
    with session_scope(app) as session:
        return [(r.action, r.minutes) for r in session.scalars(
            select(TimeRegistration).where(TimeRegistration.consult_id == consult_id)
            .order_by(TimeRegistration.registered_at, TimeRegistration.id))]


def test_a_row_shows_the_questions_first_line_the_practice_received_time_photos_and_flags(
        app: Flask, specialist: FlaskClient, consult_id: str) -> None:
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None
        practice = session.get(Organisation, consult.organisation_id)
        assert practice is not None
        practice_name = practice.name
    page = tab(specialist, "mine")
    assert "Patiënte (58 jr) heeft sinds ongeveer drie maanden een gepigmenteerde laesie" in page
    assert practice_name in page
    assert "Ontvangen" in page and "verwijzing: Veranderende gepigmenteerde laesie" in page
    assert BSN not in page


def test_asking_moves_the_consult_to_waiting_for_the_gp(specialist: FlaskClient, consult_id: str) -> None:
    post(specialist, consult_id, "ask", question="Is de laesie gebloed?", minutes="4")
    assert consult_id not in tab(specialist, "mine")
    assert consult_id in tab(specialist, "waiting")


def test_the_answered_tab_shows_when_and_how_it_was_answered(
        specialist: FlaskClient, consult_id: str, clock: FrozenClock) -> None:
    post(specialist, consult_id, "answer", advice="Vervolgen over drie maanden.", outcome="primary-care-advice")
    page = tab(specialist, "answered")
    assert consult_id in page and "Beantwoord" in page
    assert "Behandelen in de eerste lijn met dit advies" in page


def test_a_declined_consult_is_found_under_closed(specialist: FlaskClient, consult_id: str) -> None:
    response = post(specialist, consult_id, "decline", reason="Past niet in deze afspraak", minutes="3")
    assert response.status_code == 302
    landing = specialist.get(response.headers["Location"]).get_data(as_text=True)
    assert "Het consult is afgewezen; de huisarts krijgt uw reden." in landing
    assert "Past niet in deze afspraak" in landing
    page = tab(specialist, "closed")
    assert consult_id in page and "Afgewezen" in page


def test_a_consult_forwarded_away_is_found_under_closed_read_only(
        specialist: FlaskClient, consult_id: str, gp: GPSystem) -> None:
    post(specialist, consult_id, "forward", to="03100002", reason="Collega heeft expertise", minutes="2")
    page = tab(specialist, "closed")
    assert consult_id in page and "Doorgestuurd naar dr. K. Smit" in page
    assert specialist.post(f"/consults/{consult_id}/answer", data={
        "advice": "x", "outcome": "primary-care-advice",
        "csrf_token": csrf(specialist.get("/inbox"))}).status_code == 404  # no longer Visser's to answer
    assert gp_task(gp, consult_id)["status"] == "accepted"


def test_every_action_registers_its_minutes_and_the_consult_keeps_the_total(
        app: Flask, specialist: FlaskClient, consult_id: str, clock: FrozenClock) -> None:
    post(specialist, consult_id, "ask", question="Is de laesie gebloed?", minutes="4")
    clock.advance(minutes=5)
    post(specialist, consult_id, "decline", reason="Niet passend", minutes="6")
    assert registrations(app, consult_id) == [("ask", 4), ("decline", 6)]
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None and consult.time_spent_minutes == 10


def test_an_empty_time_field_registers_the_action_without_minutes(
        app: Flask, specialist: FlaskClient, consult_id: str) -> None:
    post(specialist, consult_id, "ask", question="Is de laesie gebloed?", minutes="")
    assert registrations(app, consult_id) == [("ask", None)]


@pytest.mark.parametrize(("action", "form"), [
    ("ask", {"question": "Vraag"}), ("decline", {"reason": "Reden"}),
    ("forward", {"to": "03100002", "reason": "Reden"}),
    ("answer", {"advice": "Advies", "outcome": "primary-care-advice"}),
])
@pytest.mark.parametrize("minutes", ["0", "601", "tien", "-5", "2.5"])
def test_a_bad_time_is_refused_beside_the_field_and_nothing_is_stored(
        app: Flask, specialist: FlaskClient, gp: GPSystem, consult_id: str, action: str, form: dict[str, str],
        minutes: str) -> None:
    response = post(specialist, consult_id, action, **form, minutes=minutes)
    assert response.status_code == 400
    assert "Bestede tijd is een geheel aantal minuten tussen 1 en 600" in response.get_data(as_text=True)
    assert registrations(app, consult_id) == []
    assert gp_task(gp, consult_id)["status"] == "accepted"


def test_the_time_fields_offer_the_agreements_norm_time(specialist: FlaskClient, consult_id: str,
                                                        norm_of_12: None) -> None:
    page = specialist.get(f"/consults/{consult_id}").get_data(as_text=True)
    fields = re.findall(r'<input id="([a-z-]*minutes)" name="minutes" class="minutes"[^>]*value="(\d*)"', page)
    assert dict(fields) == {"minutes": "12", "ask-minutes": "12", "forward-minutes": "12", "decline-minutes": "12"}
    assert "De normtijd uit de afspraak voor deze consultvorm is 12 minuten" in page


def test_after_advice_the_page_shows_what_was_sent(app: Flask, specialist: FlaskClient, consult_id: str) -> None:
    response = post(specialist, consult_id, "answer", advice="Verwijzen voor excisie.", outcome="referral-indicated",
                    referral_specialism="0310", referral_urgency="urgent", minutes="9")
    page = specialist.get(response.headers["Location"]).get_data(as_text=True)
    assert "Uw advies is naar de huisarts gestuurd." in page
    sent = page[page.index("Wat naar de huisarts is gestuurd"):]
    for shown in ("Verwijzing geïndiceerd", "Verwijzen naar", "Dermatologie", "Spoed", "Verwijzen voor excisie.",
                  "9 minuten", "Consultverslag downloaden (pdf)"):
        assert shown in sent, shown
    letter = re.search(r'href="(/consults/[^"]+/brief/[^"]+)"', sent)
    assert letter is not None
    pdf = specialist.get(letter.group(1))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Cache-Control"] == "no-store"
    with session_scope(app) as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.event == "consult.letter.read",
                                                       AuditEntry.actor_id == "dermatoloog")) is not None


def test_a_search_by_bsn_finds_the_patients_consults_and_is_audited(
        app: Flask, specialist: FlaskClient, consult_id: str) -> None:
    response = specialist.post("/inbox/zoeken", data={"bsn": "9999 900 19",
                                                      "csrf_token": csrf(specialist.get("/inbox"))})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and consult_id in page and "1 consult van deze patiënt gevonden." in page
    assert BSN not in page
    with session_scope(app) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.event == "web.inbox.search"))
        assert entry is not None and entry.patient_ref and entry.actor_id == "dermatoloog"
        assert BSN not in (entry.detail or "")


def test_a_search_for_a_patient_without_consults_finds_nothing_and_is_audited(
        app: Flask, specialist: FlaskClient) -> None:
    response = specialist.post("/inbox/zoeken", data={"bsn": "111222333",
                                                      "csrf_token": csrf(specialist.get("/inbox"))})
    assert response.status_code == 200
    assert "Geen consulten van deze patiënt die u mag inzien." in response.get_data(as_text=True)
    with session_scope(app) as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.event == "web.inbox.search")) is not None


@pytest.mark.parametrize("bsn", ["", "12345", "123456789", "abcdefghi", "9999900190"])
def test_a_malformed_bsn_is_a_form_error(specialist: FlaskClient, bsn: str) -> None:
    response = specialist.post("/inbox/zoeken", data={"bsn": bsn, "csrf_token": csrf(specialist.get("/inbox"))})
    assert response.status_code == 400
    assert "Een BSN heeft 9 cijfers en voldoet aan de elfproef" in response.get_data(as_text=True)


def test_the_search_never_takes_a_bsn_in_the_url(specialist: FlaskClient) -> None:
    assert specialist.get(f"/inbox/zoeken?bsn={BSN}").status_code == 405


def test_another_specialist_does_not_find_visser_s_patient(
        app: Flask, consult_id: str, clock: FrozenClock) -> None:
    cardiologist = app.test_client()
    log_in(cardiologist, clock, username=DEMO_USERS[1][0], secret=DEMO_USERS[1][3])
    page = cardiologist.post("/inbox/zoeken", data={"bsn": BSN, "csrf_token": csrf(cardiologist.get("/inbox"))})
    assert consult_id not in page.get_data(as_text=True)


def snippet_form(client: FlaskClient, **form: str) -> dict[str, str]:
    return {**form, "csrf_token": csrf(client.get("/inbox/tekstblokken"))}


def test_a_snippet_is_added_and_offered_above_the_advice_field(
        specialist: FlaskClient, consult_id: str) -> None:
    response = specialist.post("/inbox/tekstblokken", data=snippet_form(
        specialist, title="Eczeem", text="Start met een indifferente crème, twee keer per dag."))
    assert response.status_code == 302
    assert "Tekstblok &#34;Eczeem&#34; toegevoegd." in specialist.get("/inbox/tekstblokken").get_data(as_text=True)
    page = specialist.get(f"/consults/{consult_id}").get_data(as_text=True)
    text = "Start met een indifferente crème, twee keer per dag."
    assert f'data-target="advice" data-text="{text}">Eczeem</button>' in page
    assert "snippets.js" in page


@pytest.mark.parametrize(("form", "message"), [
    ({"title": "", "text": "Tekst"}, "Geef het tekstblok een korte naam"),
    ({"title": "x" * 81, "text": "Tekst"}, "De naam is te lang"),
    ({"title": "Naam", "text": "  "}, "Schrijf de tekst van het tekstblok"),
    ({"title": "Naam", "text": "x" * 4001}, "Deze tekst is te lang"),
])
def test_a_bad_snippet_is_refused_beside_the_field(app: Flask, specialist: FlaskClient, form: dict[str, str],
                                                   message: str) -> None:
    response = specialist.post("/inbox/tekstblokken", data=snippet_form(specialist, **form))
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with session_scope(app) as session:
        assert session.scalar(select(TextSnippet)) is None


def test_a_snippet_is_changed_and_deleted_by_its_owner_only(app: Flask, specialist: FlaskClient,
                                                            clock: FrozenClock) -> None:
    specialist.post("/inbox/tekstblokken", data=snippet_form(specialist, title="Acne", text="Oud"))
    with session_scope(app) as session:
        snippet_id = session.scalars(select(TextSnippet.id)).one()
    colleague = app.test_client()
    log_in(colleague, clock, username=DEMO_USERS[2][0], secret=DEMO_USERS[2][3])
    assert colleague.post(f"/inbox/tekstblokken/{snippet_id}", data=snippet_form(
        colleague, title="Acne", text="Overgenomen")).status_code == 404
    assert colleague.post(f"/inbox/tekstblokken/{snippet_id}/verwijderen",
                          data=snippet_form(colleague)).status_code == 404
    assert specialist.post(f"/inbox/tekstblokken/{snippet_id}", data=snippet_form(
        specialist, title="Acne", text="Nieuw")).status_code == 302
    with session_scope(app) as session:
        assert session.scalars(select(TextSnippet.text)).one() == "Nieuw"
    assert specialist.post(f"/inbox/tekstblokken/{snippet_id}/verwijderen",
                           data=snippet_form(specialist)).status_code == 302
    with session_scope(app) as session:
        assert session.scalar(select(TextSnippet)) is None


def test_the_thirty_first_snippet_is_refused(app: Flask, specialist: FlaskClient) -> None:
    for number in range(30):
        specialist.post("/inbox/tekstblokken", data=snippet_form(specialist, title=f"Blok {number}", text="Tekst"))
    response = specialist.post("/inbox/tekstblokken", data=snippet_form(specialist, title="Nog een", text="Tekst"))
    assert response.status_code == 400 and "U hebt 30 tekstblokken" in response.get_data(as_text=True)
