"""First-line specialists answer like any specialist (issue 23, point 1): the kaderhuisarts dermatologie, the
optometrist and the extended-scope physiotherapist each have an agreement of their own first-line practice, log in
with password and TOTP, answer in the same inbox, and their consults are declared as the contract says.

Money, by hand (November 2026, De Linde, insurer 3311):
- MKC-KADER-DERM is paid from the zorggroep's first-line budget: rate 35,00, fee 28,00 to Huisartsenpraktijk
  Kuipers. Not a line of the insurer's declaration; on the budget list and on Kuipers' statement.
- MKC-OPTO is declared by the practice as M&I (13045, 45,00, payee the practice): a line of the batch with
  declarant and payee De Linde; fee 32,00 to Optometriepraktijk Zuid.
- MKC-DERM (S3, 75,00, fee 55,00 to Ziekenhuis Rivierenland) beside them: the batch has 2 lines, 120,00.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.test_photos import jpeg_with_gps, photo_document, upload
from tests.web.test_inbox import csrf, log_in
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults.route_preview import explain_file
from triage_service.database import session_scope
from triage_service.demo import DEMO_USERS
from triage_service.models import Organisation
from triage_service.reports import declarations
from triage_service.reports.first_line import budget_csv, budget_lines, first_line_figures
from triage_service.reports.periods import Month
from triage_service.reports.statements import statements

AMS = ZoneInfo("Europe/Amsterdam")
FIRST_LINE = "https://fhir.triage-service.nl/CodeSystem/triage-first-line-specialism"
ACCOUNTS = {user[0]: user for user in DEMO_USERS}
NOVEMBER = Month(2026, 11)


def ams(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


def first_line_request(request: dict[str, Any], code: str, icpc: str, form: str = "intercollegial-consult"
                       ) -> dict[str, Any]:
    body = new_request(request)
    body["performerType"] = {"coding": [{"system": FIRST_LINE, "code": code}]}
    body["code"]["coding"][0]["code"] = form
    body["reasonCode"][0]["coding"][0]["code"] = icpc
    return body


def submit(gp: GPSystem, clock: FrozenClock, body: dict[str, Any], at: datetime) -> str:
    clock.now = at
    gp._tokens.clear()  # time moved: a fresh token
    body["authoredOn"] = at.isoformat()
    response = gp.post("/fhir/ServiceRequest", body)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def owner(gp: GPSystem, consult_id: str) -> str:
    task = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    return str(task["owner"]["identifier"]["value"])


def optometry_request(gp: GPSystem, request: dict[str, Any]) -> dict[str, Any]:
    body = first_line_request(request, "optometrist", "F05", form="e-consult")
    binary = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
    document = gp.post("/fhir/DocumentReference", photo_document(binary)).get_json()
    body["supportingInfo"] = [{"reference": f"DocumentReference/{document['id']}"}]
    return body


def answer_as(app: Flask, clock: FrozenClock, username: str, consult_id: str) -> Any:
    client = app.test_client()
    _, _, _, secret = ACCOUNTS[username]
    assert log_in(client, clock, username=username, secret=secret).status_code == 302
    inbox = client.get("/inbox").get_data(as_text=True)
    assert consult_id in inbox
    token = csrf(client.get(f"/consults/{consult_id}"))
    return client.post(f"/consults/{consult_id}/answer", data={
        "advice": "Advies in de eerste lijn.", "outcome": "primary-care-advice", "minutes": "8", "csrf_token": token})


def test_a_gp_asking_for_the_kaderhuisarts_dermatologie_gets_the_kaderhuisarts(
        gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    kader = submit(gp, clock, first_line_request(consult_request, "kaderhuisarts-dermatologie", "S88"),
                   ams("2026-11-23 10:00"))
    dermatology = submit(gp, clock, new_request(consult_request), ams("2026-11-23 10:05"))

    assert owner(gp, kader) == "01100001"  # dr. H. Kuipers, Huisartsenpraktijk Kuipers
    assert owner(gp, dermatology) in ("03100001", "03100002")  # Ziekenhuis Rivierenland


def test_the_route_preview_shows_why_each_goes_where(app: Flask, consult_request: dict) -> None:
    import json

    kader = first_line_request(consult_request, "kaderhuisarts-dermatologie", "S88")
    with session_scope(app) as session:
        kader_lines, kader_routes = explain_file(session, json.dumps(kader).encode(), "03012345")
        derm_lines, derm_routes = explain_file(session, json.dumps(new_request(consult_request)).encode(), "03012345")

    assert kader_routes and derm_routes
    assert "  MATCH    MKC-KADER-DERM / Huidklachten (overleg met de kaderhuisarts)" in kader_lines
    assert any("Assigned to dr. H. Kuipers (kaderhuisarts dermatologie)" in line for line in kader_lines)
    assert not any("MKC-DERM /" in line for line in kader_lines)
    assert any(line.startswith("  MATCH    MKC-DERM /") for line in derm_lines)
    assert not any("MKC-KADER-DERM" in line for line in derm_lines)


def test_a_knee_question_goes_to_the_extended_scope_physiotherapist_and_a_child_is_explained(
        gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    knee = submit(gp, clock, first_line_request(consult_request, "extended-scope-physiotherapist", "L15"),
                  ams("2026-11-23 10:00"))
    assert owner(gp, knee) == "04060010"

    child = first_line_request(consult_request, "extended-scope-physiotherapist", "L15")
    patient = next(c for c in child["contained"] if c["resourceType"] == "Patient")
    patient["birthDate"] = "2016-05-01"
    refused = gp.post("/fhir/ServiceRequest", child, **{"Accept-Language": "en"})
    assert refused.status_code == 422
    assert "(MKC-ESP): age 10 is outside the agreed age band 16-120" in refused.get_json()["issue"][0]["diagnostics"]


def test_the_optometrist_logs_in_with_password_and_totp_and_answers_in_the_same_inbox(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    consult_id = submit(gp, clock, optometry_request(gp, consult_request), ams("2026-11-23 10:00"))
    assert owner(gp, consult_id) == "08030010"

    assert answer_as(app, clock, "optometrist", consult_id).status_code == 302

    task = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    assert task["status"] == "completed"
    assert task["owner"]["display"] == "J. Hendriks (optometrist)"


def test_a_first_line_budget_consult_is_not_declared_to_the_insurer_but_listed_and_paid_to_the_practice(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    kader = submit(gp, clock, first_line_request(consult_request, "kaderhuisarts-dermatologie", "S88"),
                   ams("2026-11-02 10:00"))
    optometry = submit(gp, clock, optometry_request(gp, consult_request), ams("2026-11-02 10:30"))
    dermatology = submit(gp, clock, new_request(consult_request, performer=[{"identifier": {
        "system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]), ams("2026-11-02 11:00"))
    clock.now = ams("2026-11-03 14:00")
    for username, consult_id in (("kaderhuisarts", kader), ("optometrist", optometry), ("dermatoloog", dermatology)):
        assert answer_as(app, clock, username, consult_id).status_code == 302
    clock.now = ams("2026-12-01 10:00")

    with session_scope(app) as session:
        zorggroep = session.scalars(select(Organisation).where(Organisation.agb == "07300001")).one()
        batch = declarations.close_month(session, CLI_ACTOR, "test", zorggroep.id, "3311", NOVEMBER, clock.now)
        lines = sorted((line.consult_id, line.prestatie_kind, line.declarant_agb, line.payee_agb, line.amount_cents)
                       for line in batch.lines)
        budget = budget_lines(session, zorggroep.id, NOVEMBER)
        paid = {s["subcontractor"]: (s["consults"], s["total_cents"])
                for s in statements(session, zorggroep.id, NOVEMBER)}

    assert lines == sorted([(optometry, "M&I", "03012345", "03012345", 4500),
                            (dermatology, "S3", "07300001", "07300001", 7500)])
    assert (batch.line_count, batch.total_cents) == (2, 12000)
    assert [(line.consult_id, line.agreement, line.first_line_practice_agb, line.rate_cents, line.fee_cents)
            for line in budget] == [(kader, "MKC-KADER-DERM", "03085001", 3500, 2800)]
    assert budget_csv(budget).splitlines()[1] == (
        f"{kader};2026-11-03;03012345;MKC-KADER-DERM;03085001;"
        "Huisartsenpraktijk Kuipers (kaderhuisarts dermatologie);KADER-DERM;3500;2800")
    assert paid == {"Huisartsenpraktijk Kuipers (kaderhuisarts dermatologie)": (1, 2800),
                    "Optometriepraktijk Zuid": (1, 3200), "Ziekenhuis Rivierenland": (1, 5500)}


def test_the_business_case_counts_a_first_line_consult_at_its_budget_rate(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    from triage_service.reports.business_case import prices

    kader = submit(gp, clock, first_line_request(consult_request, "kaderhuisarts-dermatologie", "S88"),
                   ams("2026-11-02 10:00"))
    with session_scope(app) as session:
        from triage_service.models import Consult

        agreement_id = session.get(Consult, kader).agreement_id  # type: ignore[union-attr]
        price = prices(session)[str(agreement_id)]
    # Cost 35,00 of which 28,00 is Kuipers' fee, against an avoided dermatology referral of 185,00.
    assert (price.tariff_cents, price.fee_cents, price.referral_cost_cents) == (3500, 2800, 18500)


def test_the_first_line_share_is_counted_over_all_consults_of_the_period(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    submit(gp, clock, first_line_request(consult_request, "kaderhuisarts-dermatologie", "S88"),
           ams("2026-11-02 10:00"))
    knee = submit(gp, clock, first_line_request(consult_request, "extended-scope-physiotherapist", "L15"),
                  ams("2026-11-02 11:00"))
    submit(gp, clock, new_request(consult_request), ams("2026-11-02 12:00"))
    clock.now = ams("2026-11-03 14:00")  # the physiotherapist answers after 27 hours
    assert answer_as(app, clock, "fysiotherapeut", knee).status_code == 302

    with session_scope(app) as session:
        zorggroep = session.scalars(select(Organisation).where(Organisation.agb == "07300001")).one()
        figures = first_line_figures(session, zorggroep.id, NOVEMBER.start, NOVEMBER.end)

    # 2 of the 3 consults went to a first-line specialist: 66,67%.
    assert (figures.submitted, figures.first_line, figures.share) == (3, 2, 0.6667)
    assert [(row.specialism, row.consults, row.answered, row.median_answer_hours) for row in figures.rows] == [
        ("extended-scope-physiotherapist", 1, 1, 27.0), ("kaderhuisarts-dermatologie", 1, 0, None)]


@pytest.mark.parametrize("username", ["kaderhuisarts", "optometrist", "fysiotherapeut", "dermatoloog-maasstad"])
def test_every_new_demo_account_is_a_specialist_of_its_own_organisation(app: Flask, username: str) -> None:
    from triage_service.models import Practitioner, User
    from triage_service.security.web_auth import inbox_user

    with session_scope(app) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        found = inbox_user(session, user.id)
        assert found is not None and found.role == "specialist"
        practitioner = session.scalars(select(Practitioner).where(Practitioner.agb == found.practitioner_agb)).one()
        organisation = session.get(Organisation, practitioner.organisation_id)
    # Not Rivierenland's, not the zorggroep's: each first-line practice and the backup hospital is its own.
    assert organisation is not None and organisation.agb not in ("06010001", "07300001")


def test_the_demo_has_one_consult_waiting_for_each_first_line_specialist(app: Flask, settings: Any) -> None:
    """On a freshly loaded demo (the session's own is reset between tests): loaded again, idempotently."""
    from triage_service.demo.first_line import load_first_line_consults
    from triage_service.models import ConsultTask

    with session_scope(app) as session:
        practice = session.scalars(select(Organisation).where(Organisation.agb == "03012345")).one()
        load_first_line_consults(session, settings, practice)
        load_first_line_consults(session, settings, practice)
        owners = sorted(copy.copy(task.owner_agb) for task in session.scalars(select(ConsultTask)))
    assert owners == ["01100001", "04060010", "08030010"]
