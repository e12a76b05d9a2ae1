"""The declaration terms on the screens (issue 22, point 6): the attestation on the answer form when the
agreement asks for it, and the close-month check listing what it holds back and a code at two tariffs.

The world is De Linde asking dr. Visser under MKC-DERM (13042 at 75,00, insurer 3311); the tests change the
agreement's terms for their own duration (tests/reports/test_declaration_terms.py ``contract``).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock
from tests.reports.conftest import World, ams, world  # noqa: F401 - the reports' world fixture
from tests.reports.test_declaration_terms import NO_OPEN_DBC, _advise, contract  # noqa: F401 - fixture
from tests.test_referral_triage import referral_request
from tests.web.test_dashboard import EURO
from tests.web.test_inbox import csrf, log_in
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF
from triage_service.models import Consult

CHECKBOX = 'name="attest_no-open-dbc"'
WORDING = "Er loopt voor deze vraag geen DBC-zorgtraject in het ziekenhuis"


def _visser(app: Flask, clock: FrozenClock) -> FlaskClient:
    browser = app.test_client()
    assert log_in(browser, clock).status_code == 302
    return browser


def test_the_answer_form_asks_for_the_attestation_only_when_the_agreement_needs_it(
        app: Flask, clock: FrozenClock, world: World, contract: Callable[..., None]) -> None:  # noqa: F811
    consult_id = world.submit("A", ams("2026-11-02 10:00"))
    browser = _visser(app, clock)
    assert CHECKBOX not in browser.get(f"/consults/{consult_id}").get_data(as_text=True)

    contract("MKC-DERM", declaration={"declarant": "zorggroep", "payee": "zorggroep", "kind": "S3",
                                      "attestations": [NO_OPEN_DBC]})
    page = browser.get(f"/consults/{consult_id}").get_data(as_text=True)
    assert CHECKBOX in page
    assert WORDING in page


def test_the_ticked_attestation_is_stored_with_the_advice(
        app: Flask, clock: FrozenClock, world: World, contract: Callable[..., None]) -> None:  # noqa: F811
    contract("MKC-DERM", declaration={"declarant": "zorggroep", "payee": "zorggroep", "kind": "S3",
                                      "attestations": [NO_OPEN_DBC]})
    consult_id = world.submit("A", ams("2026-11-02 10:00"))
    browser = _visser(app, clock)
    page = browser.get(f"/consults/{consult_id}")

    answered = browser.post(f"/consults/{consult_id}/answer", data={
        "advice": "Hydrocortisoncrème 1%, na twee weken evalueren.", "outcome": "primary-care-advice",
        "attest_no-open-dbc": "yes", "csrf_token": csrf(page)})

    assert answered.status_code == 302
    with session_scope(app) as session:
        assert session.scalar(select(Consult.attestations).where(Consult.id == consult_id)) == [NO_OPEN_DBC]


def test_an_unknown_attestation_is_refused_on_the_form_and_nothing_is_stored(
        app: Flask, clock: FrozenClock, world: World) -> None:  # noqa: F811
    consult_id = world.submit("A", ams("2026-11-02 10:00"))
    browser = _visser(app, clock)
    page = browser.get(f"/consults/{consult_id}")

    refused = browser.post(f"/consults/{consult_id}/answer", data={
        "advice": "Advies.", "outcome": "primary-care-advice", "attest_geen-dbc": "yes", "csrf_token": csrf(page)})

    assert refused.status_code == 400
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None
        assert (consult.completed_at, consult.attestations) == (None, [])


def test_the_close_month_check_lists_the_held_back_consult_and_the_two_tariffs_in_dutch(
        app: Flask, clock: FrozenClock, world: World, contract: Callable[..., None],  # noqa: F811
        consult_request: dict) -> None:
    contract("MKC-DERM", declaration={"declarant": "zorggroep", "payee": "zorggroep", "kind": "S3",
                                      "attestations": [NO_OPEN_DBC]})
    world.submit("A", ams("2026-11-02 10:00"))
    _advise(world, "A", ams("2026-11-03 14:00"), attestations=(NO_OPEN_DBC,))
    world.submit("B", ams("2026-11-04 10:00"))
    _advise(world, "B", ams("2026-11-05 09:00"))
    # A referral triaged under TRIAGE-DERM: the demo declares it under the same code 13042, at 25,00.
    world.clock.now = ams("2026-11-06 10:00")
    world.gp._tokens.clear()
    referral = world.gp.post("/fhir/ServiceRequest", referral_request(consult_request,
                                                                      authoredOn=world.clock.now.isoformat()))
    with session_scope(app) as session:
        advice.return_referral(session, world._specialist(), referral.get_json()["id"],
                               advice.ReferralReturn("Lokaal behandelen."), ams("2026-11-06 11:00"))
    world.clock.now = ams("2026-12-01 10:00")
    staff = app.test_client()  # logged in now: the world's clock went back and forth in November
    assert log_in(staff, clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3]).status_code == 302

    page = staff.get("/dashboard/close?insurer=3311&period=11-2026").get_data(as_text=True)

    assert "Achtergehouden: beantwoord, maar niet gedeclareerd" in page
    assert world.ids["B"] in page
    assert "heeft niet verklaard dat er voor deze vraag geen ziekenhuisbehandeling (DBC) loopt" in page
    assert (f"Prestatiecode 13042 heeft 2 tarieven in deze batch: {EURO}25,00 (1 regel), {EURO}75,00 (1 regel)."
            in page)

    closed = staff.post("/dashboard/close", data={"insurer": "3311", "period": "2026-11",
                                                  "csrf_token": csrf(staff.get("/dashboard"))},
                        follow_redirects=True).get_data(as_text=True)
    assert "batch 1, 2 regels" in closed  # A and the referral; B stays out
    assert f"Prestatiecode 13042 heeft 2 tarieven in deze batch: {EURO}25,00 (1 regel)" in closed
