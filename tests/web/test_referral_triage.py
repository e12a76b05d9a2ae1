"""Triage of a referral in the inbox: the dermatologist sees it is a referral, accepts it with an urgency,
returns it to the GP with advice, or redirects it; wrong or incomplete forms are refused with the reason
next to the field, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.test_referral_triage import outputs_of, referral_request
from tests.web.test_actions import KADER_AGREEMENT, VISSER, gp_task, post, temporary_agreement

# Fixtures of the other inbox tests, imported as themselves so pytest finds them here: a meekijkconsult for
# Visser, a kaderhuisarts agreement for meekijkconsults only, Visser logged in, and Smit's account.
from tests.web.test_actions import consult_id as consult_id
from tests.web.test_actions import kader_agreement as kader_agreement
from tests.web.test_actions import specialist as specialist
from tests.web.test_inbox import csrf, log_in
from tests.web.test_inbox import smit as smit
from triage_service.database import session_scope
from triage_service.models import ConsultMessage


@pytest.fixture
def referral_id(gp: GPSystem, consult_request: dict) -> str:
    return str(gp.post("/fhir/ServiceRequest", referral_request(consult_request)).get_json()["id"])


def messages_of(app: Flask, consult_id: str) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).where(ConsultMessage.consult_id == consult_id)) or 0


def test_the_inbox_marks_a_referral_for_triage(specialist: FlaskClient, referral_id: str, consult_id: str) -> None:
    page = specialist.get("/inbox").get_data(as_text=True)
    assert page.count('class="badge referral">Verwijzing<') == 1  # the referral, not the meekijkconsult


def test_a_referral_offers_triage_instead_of_an_answer(specialist: FlaskClient, referral_id: str) -> None:
    page = specialist.get(f"/consults/{referral_id}").get_data(as_text=True)
    assert "Verwijzing ter triage" in page and "Verwijzing van de huisarts" in page
    assert "Niet van toepassing: de huisarts heeft verwezen" in page  # a referral has no GP intent
    assert "Verwijzing accepteren" in page and "Terugsturen naar de huisarts met advies" in page
    assert "Doorsturen" in page and 'value="03100002"' in page  # redirect to a colleague
    assert "Advies versturen" not in page  # no meekijkconsult answer form
    assert '<option value="routine" selected>' in page  # the GP's priority, to confirm or change


def test_a_meekijkconsult_offers_no_triage(specialist: FlaskClient, consult_id: str) -> None:
    page = specialist.get(f"/consults/{consult_id}").get_data(as_text=True)
    assert "Advies versturen" in page and "Verwijzing accepteren" not in page


def test_accepting_a_referral_completes_the_task_and_keeps_the_referral_active(
    specialist: FlaskClient, gp: GPSystem, referral_id: str
) -> None:
    response = post(specialist, referral_id, "accept-referral", urgency="asap", note="Graag snel zien.", minutes="4")

    assert response.status_code == 302
    task = gp_task(gp, referral_id)
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == ("completed", "referral-accepted")
    outputs = outputs_of(task)
    assert outputs["outcome"]["coding"][0]["code"] == "referral-accepted"
    assert (outputs["converted-to-referral"], outputs["referral-urgency"]) == (True, "asap")
    assert gp.get(f"/fhir/ServiceRequest/{referral_id}").get_json()["status"] == "active"
    page = specialist.get(f"/consults/{referral_id}").get_data(as_text=True)
    assert "Status:</strong> Verwijzing geaccepteerd" in page and "Graag snel zien." in page
    assert "Verwijzing accepteren" not in page  # no forms on a triaged referral
    assert f"/consults/{referral_id}" in specialist.get("/inbox?view=answered").get_data(as_text=True)


def test_returning_a_referral_sends_the_advice_to_the_gp(
    specialist: FlaskClient, gp: GPSystem, referral_id: str
) -> None:
    response = post(specialist, referral_id, "return-referral", advice="Eerst lichttherapie in de eerste lijn.")

    assert response.status_code == 302
    task = gp_task(gp, referral_id)
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == ("completed", "referral-returned")
    assert outputs_of(task)["converted-to-referral"] is False
    assert outputs_of(task)["advice"] == "Eerst lichttherapie in de eerste lijn."
    page = specialist.get(f"/consults/{referral_id}").get_data(as_text=True)
    assert "<dt>Uitkomst</dt><dd>Met advies teruggestuurd naar de huisarts</dd>" in page


@pytest.mark.parametrize(
    ("action", "form", "message"),
    [
        ("accept-referral", {"urgency": "", "note": "Graag zien."}, "Kies hoe urgent de verwijzing is"),
        ("accept-referral", {"urgency": "someday"}, "Kies hoe urgent de verwijzing is"),
        ("accept-referral", {"urgency": "urgent", "note": "x" * 10_001}, "Deze tekst is te lang"),
        ("accept-referral", {"urgency": "urgent", "minutes": "0"}, "Bestede tijd is een geheel aantal minuten"),
        ("return-referral", {"advice": "   "}, "Schrijf uw advies aan de huisarts"),
        ("return-referral", {"advice": "Advies", "minutes": "lots"}, "Bestede tijd is een geheel aantal minuten"),
    ],
)
def test_an_incomplete_triage_shows_the_error_and_stores_nothing(
    app: Flask,
    specialist: FlaskClient,
    gp: GPSystem,
    referral_id: str,
    action: str,
    form: dict[str, str],
    message: str,
) -> None:
    response = post(specialist, referral_id, action, **form)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert gp_task(gp, referral_id)["status"] == "accepted"
    assert messages_of(app, referral_id) == 0


@pytest.mark.parametrize("action", ["accept-referral", "return-referral"])
def test_a_meekijkconsult_cannot_be_triaged_as_a_referral(
    app: Flask, specialist: FlaskClient, gp: GPSystem, consult_id: str, action: str
) -> None:
    response = post(specialist, consult_id, action, urgency="urgent", advice="Advies")

    assert response.status_code == 400
    assert "Dit is een meekijkconsult, geen verwijzing ter triage" in response.get_data(as_text=True)
    assert gp_task(gp, consult_id)["status"] == "accepted"
    assert messages_of(app, consult_id) == 0


def test_a_referral_cannot_be_answered_as_a_meekijkconsult(
    app: Flask, specialist: FlaskClient, gp: GPSystem, referral_id: str
) -> None:
    response = post(specialist, referral_id, "answer", advice="Advies", outcome="primary-care-advice")

    assert response.status_code == 400
    assert "Dit is een verwijzing ter triage" in response.get_data(as_text=True)
    assert gp_task(gp, referral_id)["status"] == "accepted"
    assert messages_of(app, referral_id) == 0


def test_a_triaged_referral_cannot_be_triaged_again(specialist: FlaskClient, gp: GPSystem, referral_id: str) -> None:
    post(specialist, referral_id, "return-referral", advice="Advies.")
    token = csrf(specialist.get("/inbox"))
    again = specialist.post(f"/consults/{referral_id}/accept-referral", data={"urgency": "urgent", "csrf_token": token})
    assert again.status_code == 409
    assert gp_task(gp, referral_id)["businessStatus"]["coding"][0]["code"] == "referral-returned"


def test_another_specialists_referral_cannot_be_triaged(
    app: Flask, clock: FrozenClock, gp: GPSystem, referral_id: str, smit: tuple[str, str, str]
) -> None:
    other = app.test_client()
    assert log_in(other, clock, username=smit[0], secret=smit[2]).status_code == 302
    token = csrf(other.get("/inbox"))
    response = other.post(f"/consults/{referral_id}/accept-referral", data={"urgency": "urgent", "csrf_token": token})
    assert response.status_code == 404
    assert gp_task(gp, referral_id)["status"] == "accepted"


def test_asking_the_gp_and_declining_work_for_a_referral(
    specialist: FlaskClient, gp: GPSystem, referral_id: str
) -> None:
    assert post(specialist, referral_id, "ask", question="Welke lokale therapie precies?").status_code == 302
    assert gp_task(gp, referral_id)["status"] == "on-hold"
    assert post(specialist, referral_id, "decline", reason="Betreft cosmetiek").status_code == 302
    assert gp_task(gp, referral_id)["status"] == "rejected"


def test_redirecting_a_referral_to_a_colleague(specialist: FlaskClient, gp: GPSystem, referral_id: str) -> None:
    response = post(specialist, referral_id, "forward", to="03100002", reason="Collega doet de psoriasispoli")
    assert response.status_code == 302
    assert gp_task(gp, referral_id)["owner"]["identifier"]["value"] == "03100002"


# The kaderhuisarts agreement of tests/web/test_actions.py, agreed for referral triage instead.
KADER_TRIAGE = (KADER_AGREEMENT
                .replace("code: MKC-KADER-DERM", "code: TRIAGE-KADER-DERM")
                .replace("name: Kaderhuisarts dermatologie (test)",
                         "name: Triage van verwijzingen door de kaderhuisarts dermatologie (test)")
                .replace("  - name: Huidklachten overleg\n    specialism: kaderhuisarts-dermatologie\n",
                         "  - name: Verwijzingen huidklachten (triage)\n    specialism: kaderhuisarts-dermatologie\n"
                         "    categories: [referral]\n"))
assert "categories: [referral]" in KADER_TRIAGE


@pytest.fixture
def kader_triage(app: Flask, tmp_path: Path) -> Iterator[None]:
    yield from temporary_agreement(app, tmp_path, KADER_TRIAGE, "TRIAGE-KADER-DERM")


def test_redirecting_a_referral_to_another_specialism_routes_it_to_that_specialisms_triage(
    specialist: FlaskClient, gp: GPSystem, referral_id: str, kader_triage: Any
) -> None:
    page = specialist.get(f"/consults/{referral_id}").get_data(as_text=True)
    assert 'value="specialism:kaderhuisarts-dermatologie"' in page

    response = post(
        specialist, referral_id, "forward", to="specialism:kaderhuisarts-dermatologie", reason="Past bij de kader"
    )

    assert response.status_code == 302
    task = gp_task(gp, referral_id)
    assert (task["owner"]["identifier"]["value"], task["status"]) == ("01099999", "accepted")


def test_a_referral_is_not_offered_to_a_specialism_that_only_answers_meekijkconsults(
    specialist: FlaskClient, gp: GPSystem, consult_request: dict, referral_id: str, kader_agreement: Any
) -> None:
    meekijkconsult = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER)).get_json()["id"]
    option = 'value="specialism:kaderhuisarts-dermatologie"'
    assert option in specialist.get(f"/consults/{meekijkconsult}").get_data(as_text=True)
    assert option not in specialist.get(f"/consults/{referral_id}").get_data(as_text=True)
