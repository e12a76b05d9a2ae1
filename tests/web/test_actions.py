"""What a specialist does with a consult in the inbox: ask, answer with an outcome, forward, decline.
Each is a state change the GP system sees on its Task; bad forms get errors next to their fields."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.web.test_inbox import csrf, log_in

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]


@pytest.fixture
def consult_id(gp: GPSystem, consult_request: dict) -> str:
    return str(gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER)).get_json()["id"])


@pytest.fixture
def specialist(app: Flask, clock: FrozenClock) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, clock).status_code == 302
    return client


def post(client: FlaskClient, consult_id: str, action: str, **form: str) -> Any:
    token = csrf(client.get(f"/consults/{consult_id}"))
    return client.post(f"/consults/{consult_id}/{action}", data={**form, "csrf_token": token})


def gp_task(gp: GPSystem, consult_id: str) -> dict[str, Any]:
    task: dict[str, Any] = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    return task


def test_asking_the_gp_puts_the_consult_on_hold(specialist: FlaskClient, gp: GPSystem, consult_id: str) -> None:
    response = post(specialist, consult_id, "ask", question="Is de laesie gebloed?")
    assert response.status_code == 302
    task = gp_task(gp, consult_id)
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == ("on-hold", "awaiting-gp-information")
    page = specialist.get(f"/consults/{consult_id}").get_data(as_text=True)
    assert "Vraag aan de huisarts" in page and "Is de laesie gebloed?" in page
    assert "Uw vraag is naar de huisarts gestuurd." in page


@pytest.mark.parametrize(("outcome", "extra", "business_status", "converted"), [
    ("primary-care-advice", {}, "advice-given", False),
    ("ecms", {}, "advice-given", False),
    ("referral-indicated", {"referral_specialism": "0310", "referral_urgency": "urgent"}, "converted-to-referral",
     True),
    ("other-specialism", {}, "advice-given", False),
    ("not-suitable", {}, "advice-given", False),
])
def test_answering_with_each_outcome_completes_the_consult_for_the_gp(
        specialist: FlaskClient, gp: GPSystem, consult_id: str, outcome: str, extra: dict[str, str],
        business_status: str, converted: bool) -> None:
    from triage_service.fhir.profiles import PROFILE_CONSULT_TASK, registry

    response = post(specialist, consult_id, "answer", advice="Atypische naevus; excisie in de eerste lijn.",
                    outcome=outcome, minutes="6", **extra)

    assert response.status_code == 302
    task = gp_task(gp, consult_id)
    assert task["status"] == "completed"
    assert task["businessStatus"]["coding"][0]["code"] == business_status
    outputs = {o["type"]["text"]: o for o in task["output"]}
    assert outputs["outcome"]["valueCodeableConcept"]["coding"][0]["code"] == outcome
    assert outputs["converted-to-referral"]["valueBoolean"] is converted
    assert outputs["advice"]["valueString"].startswith("Atypische naevus")
    assert registry().validate(task, PROFILE_CONSULT_TASK) == []
    assert gp.get(f"/fhir/ServiceRequest/{consult_id}").get_json()["status"] == "completed"


@pytest.mark.parametrize(("form", "message"), [
    ({"advice": "  ", "outcome": "ecms"}, "Schrijf uw advies aan de huisarts"),
    ({"advice": "Advies", "outcome": "guess"}, "Kies een uitkomst"),
    ({"advice": "Advies", "outcome": "referral-indicated"}, "Kies het specialisme waarnaar u verwijst"),
    ({"advice": "Advies", "outcome": "ecms", "minutes": "lots"}, "Bestede tijd is een geheel aantal minuten"),
])
def test_an_incomplete_answer_shows_the_error_and_changes_nothing(
        specialist: FlaskClient, gp: GPSystem, consult_id: str, form: dict[str, str], message: str) -> None:
    response = post(specialist, consult_id, "answer", **form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert gp_task(gp, consult_id)["status"] == "accepted"


def test_forwarding_hands_the_consult_to_a_colleague(specialist: FlaskClient, gp: GPSystem, consult_id: str) -> None:
    response = post(specialist, consult_id, "forward", to="03100002", reason="Collega heeft expertise hierin")
    assert response.status_code == 302
    assert gp_task(gp, consult_id)["owner"]["identifier"]["value"] == "03100002"
    # No longer Visser's: he reads it, told in words where it went, and can no longer act on it.
    page = specialist.get(f"/consults/{consult_id}").get_data(as_text=True)
    assert "Het consult is doorgestuurd." in page and "U hebt dit consult doorgestuurd naar dr. K. Smit" in page
    assert "Advies versturen" not in page and "Doorsturen</button>" not in page


def test_forwarding_without_a_reason_or_target_is_refused(specialist: FlaskClient, consult_id: str) -> None:
    response = post(specialist, consult_id, "forward", to="", reason="")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Kies een collega of de groepswachtrij" in text and "Geef een reden" in text


def test_declining_rejects_the_task_with_the_reason(specialist: FlaskClient, gp: GPSystem, consult_id: str) -> None:
    assert post(specialist, consult_id, "decline", reason="Vraag betreft diagnostiek").status_code == 302
    task = gp_task(gp, consult_id)
    assert (task["status"], task["statusReason"]["text"]) == ("rejected", "Vraag betreft diagnostiek")


def test_a_consult_waiting_on_the_gp_can_still_be_answered(specialist: FlaskClient, gp: GPSystem,
                                                          consult_id: str) -> None:
    post(specialist, consult_id, "ask", question="Foto graag?")
    assert post(specialist, consult_id, "answer", advice="Toch al duidelijk.", outcome="primary-care-advice"
                ).status_code == 302
    assert gp_task(gp, consult_id)["status"] == "completed"


def test_a_completed_consult_cannot_be_answered_twice(specialist: FlaskClient, consult_id: str) -> None:
    post(specialist, consult_id, "answer", advice="Advies.", outcome="primary-care-advice")
    page = specialist.get(f"/consults/{consult_id}").get_data(as_text=True)
    assert "Advies versturen" not in page  # no forms on a closed consult
    token = csrf(specialist.get("/inbox"))
    again = specialist.post(f"/consults/{consult_id}/answer",
                            data={"advice": "Nog eens", "outcome": "ecms", "csrf_token": token})
    assert again.status_code == 409


def test_answered_consults_move_to_the_answered_view(specialist: FlaskClient, consult_id: str) -> None:
    post(specialist, consult_id, "answer", advice="Advies.", outcome="primary-care-advice")
    assert f"/consults/{consult_id}" not in specialist.get("/inbox").get_data(as_text=True)
    assert f"/consults/{consult_id}" in specialist.get("/inbox?view=answered").get_data(as_text=True)


KADER_AGREEMENT = """code: MKC-KADER-DERM
name: Kaderhuisarts dermatologie (test)
zorggroep: {agb: "07300001", name: Zorggroep Rijnmond Eerstelijn}
subcontractor: {agb: "08040004", name: Kaderhuisartsen Zuid}
valid_from: 2026-01-01
insurers:
  - {uzovi: "3311", name: Zorgverzekeraar Zuid}
consult_forms: [intercollegial-consult]
answer_norms:
  routine: {working_days: 3}
  urgent: {working_days: 1}
  asap: {working_days: 1}
  stat: {working_hours: 4}
tariffs: {s3_prestatie_code: "13046", s3_tariff_cents: 3000, subcontractor_fee_cents: 2000}
specialists:
  - {agb: "01099999", name: "J. de Wit (kaderhuisarts dermatologie)", specialism: kaderhuisarts-dermatologie}
profiles:
  - name: Huidklachten overleg
    specialism: kaderhuisarts-dermatologie
    icpc: [S]
    consult_forms: [intercollegial-consult]
"""


@pytest.fixture
def kader_agreement(app: Flask, tmp_path: Any) -> Any:
    yield from temporary_agreement(app, tmp_path, KADER_AGREEMENT, "MKC-KADER-DERM")


def temporary_agreement(app: Flask, tmp_path: Any, text: str, code: str) -> Any:
    """An extra agreement for one test: imported, and removed afterwards with the consults under it. One that
    replaces a configured agreement of the same code is put back as configured, not removed: the tests that run
    later rely on the configured agreements (config/agreements/)."""
    from sqlalchemy import select

    from tests.conftest import _reset
    from triage_service.agreements.importer import import_agreements
    from triage_service.database import session_scope
    from triage_service.models import Agreement

    (tmp_path / f"{code}.yaml").write_text(text)
    with session_scope(app) as session:
        configured = session.scalar(select(Agreement.id).where(Agreement.code == code)) is not None
        import_agreements(session, tmp_path / f"{code}.yaml")
    yield
    _reset(app)  # consults first: they point at the agreement
    with session_scope(app) as session:
        if configured:
            import_agreements(session, app.extensions["triage.settings"].agreements_path)
            return
        agreement = session.scalar(select(Agreement).where(Agreement.code == code))
        if agreement is not None:
            session.delete(agreement)


def test_forwarding_to_another_specialism_routes_the_consult_afresh(
        specialist: FlaskClient, gp: GPSystem, consult_id: str, kader_agreement: Any) -> None:
    page = specialist.get(f"/consults/{consult_id}").get_data(as_text=True)
    assert 'value="specialism:kaderhuisarts-dermatologie"' in page

    response = post(specialist, consult_id, "forward", to="specialism:kaderhuisarts-dermatologie",
                    reason="Past bij de kaderhuisarts")

    assert response.status_code == 302
    task = gp_task(gp, consult_id)
    assert task["owner"]["identifier"]["value"] == "01099999"
    assert task["status"] == "accepted"


def test_forwarding_to_a_specialism_no_agreement_covers_is_explained(
        specialist: FlaskClient, gp: GPSystem, consult_id: str) -> None:
    response = post(specialist, consult_id, "forward", to="specialism:0320", reason="Cardiale oorzaak?")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Geen samenwerkingsafspraak van dat specialisme dekt deze patiënt en vraag" in text
    assert gp_task(gp, consult_id)["owner"]["identifier"]["value"] == "03100001"
