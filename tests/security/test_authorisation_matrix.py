"""Who may reach what, for every route the service has.

The matrix below names, for each endpoint and method in the URL map, the roles that may use it; every other
role must be refused (401, 403, 404, or sent to the login page). A route added without a line here fails
`test_every_route_is_in_the_matrix`, so nobody can add an endpoint without deciding who may use it.

Roles: anonymous; the GP system of practice A (owner of the data) and of practice B; dr. Visser (the
dermatologist the consult is assigned to); a cardiologist (another specialism); zorggroep staff; the
zorggroep's reporting client; a GP of practice A and one of practice B in the portal; the rota maker of the
specialists' hospital (the on-call rota, nothing else).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from tests.conftest import START, FrozenClock, GPSystem, example, new_request
from tests.test_photos import jpeg_with_gps, photo_document, upload
from tests.web.test_inbox import csrf, log_in
from triage_service.accounts.registration import client_assertion, create_user, register_client
from triage_service.agreements.rota import import_rota
from triage_service.agreements.rota_files import read_rota_file
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import advice, appointments
from triage_service.consults.letters import current_letters
from triage_service.consults.verdicts import give_verdict
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_PRACTICE_USERS, DEMO_ROTA_MAKER, DEMO_USERS
from triage_service.encryption.envelope import generate_client_keypair
from triage_service.models import (
    AccessToken,
    ApiClient,
    Consult,
    ExpertiseTeam,
    OnCallShift,
    Organisation,
    Practitioner,
    StoredResource,
    UsedAssertion,
    User,
    UserRole,
)
from triage_service.reports.declarations import close_month
from triage_service.reports.periods import Month
from triage_service.security.web_auth import inbox_user

ROLES = ("anonymous", "gp_a", "gp_b", "specialist", "colleague", "staff", "reports", "portal_a", "portal_b",
         "rota_maker")
PUBLIC = set(ROLES)
GP_A = {"gp_a"}
ANY_GP = {"gp_a", "gp_b"}
SPECIALIST = {"specialist"}
INBOX_USER = {"specialist", "colleague", "staff"}
ANY_USER = INBOX_USER | {"portal_a", "portal_b", "rota_maker"}
#: The on-call rota: the hospital's specialists read it, its rota maker changes it.
ROTA_READERS = {"specialist", "colleague", "rota_maker"}
ROTA_MAKER = {"rota_maker"}
#: The portal: a GP of practice A (whose consults these are), and any practice's GP for what is their own.
PORTAL_A = {"portal_a"}
ANY_PRACTICE = {"portal_a", "portal_b"}
STAFF = {"staff"}
REPORTERS = {"staff", "reports"}
VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]


@dataclass
class Ids:
    consult: str
    task: str
    patient: str
    photo: str
    message: str
    subscription: str
    batch: str
    #: An ECMS consult with a proposed appointment.
    ecms: str
    appointment: str
    #: The answered October consult, and a draft practice A prepared in the portal.
    answered: str
    draft: str
    draft_photo: str
    #: Valid bodies for the updates, so that only the caller's rights decide the answer.
    bodies: dict[str, Any]
    #: The letter made when the October consult was answered (consults/letters.py).
    letter: str = ""
    #: A text snippet of dr. Visser's (accounts/snippets.py).
    snippet: str = ""
    #: A shift of the hospital's dermatology rota.
    shift: str = ""
    #: The GP's verdict on the October consult's advice (consults/verdicts.py).
    verdict: str = ""
    #: A blood pressure practice A sent as an entry of a consult's transaction (the patient's context).
    observation: str = ""
    #: The wound-care expertise team (config/agreements/wondzorg.yaml), of which dr. Visser is a member.
    team: str = ""
    #: A back-referral dr. Visser sent to practice A (consults/back_referrals.py).
    back_referral: str = ""


#: (endpoint, method) -> (URL built from the ids, roles allowed). A search that another practice may run
#: is allowed for it, but must not show practice A's data (checked separately below).
MATRIX: dict[tuple[str, str], tuple[Callable[[Ids], str], set[str]]] = {
    ("fhir.metadata", "GET"): (lambda i: "/fhir/metadata", PUBLIC),
    ("fhir.conformance_read", "GET"): (lambda i: "/fhir/CodeSystem/triage-gp-intent", PUBLIC),
    ("fhir.conformance_search", "GET"): (lambda i: "/fhir/ValueSet", PUBLIC),
    ("fhir.openapi", "GET"): (lambda i: "/fhir/openapi.json", PUBLIC),
    ("oauth.smart_configuration", "GET"): (lambda i: "/.well-known/smart-configuration", PUBLIC),
    ("oauth.token", "POST"): (lambda i: "/oauth/token", PUBLIC),
    ("health.health", "GET"): (lambda i: "/health", PUBLIC),
    ("static", "GET"): (lambda i: "/static/web/inbox.css", PUBLIC),
    ("web.static", "GET"): (lambda i: "/static/web/inbox.css", PUBLIC),
    ("web.login", "GET"): (lambda i: "/login", PUBLIC),
    ("web.login", "POST"): (lambda i: "/login", PUBLIC),
    ("web.login_totp", "GET"): (lambda i: "/login/code", PUBLIC),
    ("web.login_totp", "POST"): (lambda i: "/login/code", PUBLIC),
    ("web.language", "POST"): (lambda i: "/language", PUBLIC),
    # A GP system's signed launch of the portal: the JWT authenticates (tests/web/test_his_launch.py).
    ("portal.launch", "POST"): (lambda i: "/huisarts/launch", PUBLIC),
    # The patient's upload page: the link's secret and the birth date authenticate (tests/web/test_patient_photos.py).
    ("patient.upload_page", "GET"): (lambda i: "/foto/onbekend", PUBLIC),
    ("patient.upload_page", "POST"): (lambda i: "/foto/onbekend", PUBLIC),
    ("patient.send_photos", "POST"): (lambda i: "/foto/onbekend/fotos", PUBLIC),
    ("patient.static", "GET"): (lambda i: "/foto/static/portal/portal.css", PUBLIC),
    # The FHIR API: practice A's own data.
    ("fhir.read_service_request", "GET"): (lambda i: f"/fhir/ServiceRequest/{i.consult}", GP_A),
    ("fhir.patient_photo_link", "POST"): (lambda i: f"/fhir/ServiceRequest/{i.consult}/$patient-photo-link", GP_A),
    ("fhir.read_task", "GET"): (lambda i: f"/fhir/Task/{i.task}", GP_A),
    # vread is the read, routed (api/history.py): the same practice only.
    ("fhir.vread", "GET"): (lambda i: f"/fhir/ServiceRequest/{i.consult}/_history/1", GP_A),
    ("fhir.update_task", "PUT"): (lambda i: f"/fhir/Task/{i.task}", GP_A),
    ("fhir.read_supporting", "GET"): (lambda i: f"/fhir/Patient/{i.patient}", GP_A),
    ("fhir.read_context", "GET"): (lambda i: f"/fhir/Observation/{i.observation}", GP_A),
    ("fhir.read_binary", "GET"): (lambda i: f"/fhir/Binary/{i.photo}", GP_A),
    ("fhir.read_communication", "GET"): (lambda i: f"/fhir/Communication/{i.message}", GP_A),
    # An expertise team is directory data (no patient): any GP system that may read Tasks reads their owner.
    ("fhir.read_care_team", "GET"): (lambda i: f"/fhir/CareTeam/{i.team}", ANY_GP),
    ("fhir.read_appointment", "GET"): (lambda i: f"/fhir/Appointment/{i.appointment}", GP_A),
    ("fhir.update_appointment", "PUT"): (lambda i: f"/fhir/Appointment/{i.appointment}", GP_A),
    ("fhir.read_subscription", "GET"): (lambda i: f"/fhir/Subscription/{i.subscription}", GP_A),
    ("fhir.update_subscription", "PUT"): (lambda i: f"/fhir/Subscription/{i.subscription}", GP_A),
    ("fhir.delete_subscription", "DELETE"): (lambda i: f"/fhir/Subscription/{i.subscription}", GP_A),
    # Creating and searching: any GP system, each for its own practice.
    ("fhir.create_service_request", "POST"): (lambda i: "/fhir/ServiceRequest", ANY_GP),
    ("fhir.validate_service_request", "POST"): (lambda i: "/fhir/ServiceRequest/$validate", ANY_GP),
    ("fhir.create_supporting", "POST"): (lambda i: "/fhir/Patient", ANY_GP),
    ("fhir.create_binary", "POST"): (lambda i: "/fhir/Binary", ANY_GP),
    ("fhir.create_document", "POST"): (lambda i: "/fhir/DocumentReference", ANY_GP),
    ("fhir.create_communication", "POST"): (lambda i: "/fhir/Communication", ANY_GP),
    ("fhir.create_subscription", "POST"): (lambda i: "/fhir/Subscription", ANY_GP),
    ("fhir.transaction", "POST"): (lambda i: "/fhir", ANY_GP),
    ("fhir.search_service_requests", "GET"): (lambda i: f"/fhir/ServiceRequest?identifier={i.consult}", ANY_GP),
    ("fhir.search_tasks", "GET"): (lambda i: f"/fhir/Task?focus={i.consult}", ANY_GP),
    ("fhir.search_communications", "GET"): (lambda i: f"/fhir/Communication?based-on={i.consult}", ANY_GP),
    ("fhir.search_appointments", "GET"): (lambda i: f"/fhir/Appointment?based-on={i.ecms}", ANY_GP),
    ("fhir.search_subscriptions", "GET"): (lambda i: "/fhir/Subscription", ANY_GP),
    ("fhir.read_questionnaire_response", "GET"): (lambda i: f"/fhir/QuestionnaireResponse/{i.verdict}", GP_A),
    ("fhir.create_questionnaire_response", "POST"): (lambda i: "/fhir/QuestionnaireResponse", ANY_GP),
    ("fhir.search_questionnaire_responses", "GET"): (lambda i: f"/fhir/QuestionnaireResponse?based-on={i.answered}",
                                                     ANY_GP),
    # The inbox.
    ("web.home", "GET"): (lambda i: "/", ANY_USER),
    ("web.inbox", "GET"): (lambda i: "/inbox", INBOX_USER),
    ("web.logout", "POST"): (lambda i: "/logout", ANY_USER),
    ("web.user_settings", "GET"): (lambda i: "/settings", ANY_USER),
    ("web.user_settings", "POST"): (lambda i: "/settings", ANY_USER),
    ("web.consult", "GET"): (lambda i: f"/consults/{i.consult}", SPECIALIST),
    ("web.photo", "GET"): (lambda i: f"/consults/{i.consult}/photos/{i.photo}", SPECIALIST),
    ("web.photo_page", "GET"): (lambda i: f"/consults/{i.consult}/photos/{i.photo}/bekijken", SPECIALIST),
    ("web.consult_letter", "GET"): (lambda i: f"/consults/{i.answered}/brief/{i.letter}", SPECIALIST),
    ("web.search", "POST"): (lambda i: "/inbox/zoeken", INBOX_USER),
    ("web.snippets", "GET"): (lambda i: "/inbox/tekstblokken", INBOX_USER),
    ("web.add_snippet", "POST"): (lambda i: "/inbox/tekstblokken", INBOX_USER),
    # A snippet is its owner's alone: another account finds no such snippet (404).
    ("web.change_snippet", "POST"): (lambda i: f"/inbox/tekstblokken/{i.snippet}", SPECIALIST),
    ("web.delete_snippet", "POST"): (lambda i: f"/inbox/tekstblokken/{i.snippet}/verwijderen", SPECIALIST),
    ("web.ask", "POST"): (lambda i: f"/consults/{i.consult}/ask", SPECIALIST),
    ("web.answer", "POST"): (lambda i: f"/consults/{i.consult}/answer", SPECIALIST),
    ("web.forward", "POST"): (lambda i: f"/consults/{i.consult}/forward", SPECIALIST),
    ("web.decline", "POST"): (lambda i: f"/consults/{i.consult}/decline", SPECIALIST),
    # "Ik pak hem op": this consult is not called out, so its specialist is told there is nothing to take (409);
    # the call-out itself is tested in tests/web/test_urgent_inbox.py.
    ("web.take", "POST"): (lambda i: f"/consults/{i.consult}/take", SPECIALIST),
    # "Ik neem hem" from a group queue: the consult is already dr. Visser's own, so she is told so (409); the
    # others find no such consult in their queues (404). The take itself: tests/test_group_take.py.
    ("web.take_from_queue", "POST"): (lambda i: f"/consults/{i.consult}/take-from-queue", SPECIALIST),
    # The MDO of an expertise team: the matrix's consult is no team's, so nobody may put it on an agenda (404);
    # the team's members are tested in tests/test_expertise_teams.py. The agenda is for the team's members only.
    ("web.place_on_mdo", "POST"): (lambda i: f"/consults/{i.consult}/mdo", set()),
    ("web.remove_from_mdo", "POST"): (lambda i: f"/consults/{i.consult}/mdo/remove", set()),
    ("web.mdo_agenda", "GET"): (lambda i: f"/teams/{i.team}/mdo", SPECIALIST),
    ("web.accept_referral", "POST"): (lambda i: f"/consults/{i.consult}/accept-referral", SPECIALIST),
    ("web.return_referral", "POST"): (lambda i: f"/consults/{i.consult}/return-referral", SPECIALIST),
    ("web.propose_appointments", "POST"): (lambda i: f"/consults/{i.ecms}/appointments", SPECIALIST),
    ("web.cancel_appointment", "POST"): (lambda i: f"/consults/{i.ecms}/appointments/{i.appointment}/cancel",
                                         SPECIALIST),
    ("web.mark_appointment", "POST"): (lambda i: f"/consults/{i.ecms}/appointments/{i.appointment}/mark",
                                       SPECIALIST),
    ("web.appointment_calendar", "GET"): (
        lambda i: f"/consults/{i.ecms}/appointments/{i.appointment}/calendar.ics", SPECIALIST),
    ("web.dashboard", "GET"): (lambda i: "/dashboard", STAFF),
    ("web.close_month_preview", "GET"): (lambda i: "/dashboard/close?insurer=3311&period=2026-10", STAFF),
    ("web.close_month", "POST"): (lambda i: "/dashboard/close", STAFF),
    # The statements and corrections screens (tests/web/test_statements_screens.py); an empty correction form is
    # refused beside its fields (400), which is reaching it.
    ("web.statements_page", "GET"): (lambda i: "/dashboard/statements?period=2026-10", STAFF),
    ("web.statement_page", "GET"): (lambda i: "/dashboard/statements/06010001/2026-10", STAFF),
    ("web.statement_csv_file", "GET"): (lambda i: "/dashboard/statements/06010001/2026-10.csv", STAFF),
    ("web.first_line_budget_csv", "GET"): (lambda i: "/dashboard/eerstelijnsbudget/2026-10.csv", STAFF),
    ("web.statement_pdf_file", "GET"): (lambda i: "/dashboard/statements/06010001/2026-10.pdf", STAFF),
    # The quarterly report for the insurer (tests/web/test_quarterly_screens.py).
    ("web.quarterly_page", "GET"): (lambda i: "/dashboard/kwartaalrapportage?kwartaal=2026-Q4", STAFF),
    ("web.quarterly_pdf_file", "GET"): (lambda i: "/dashboard/kwartaalrapportage/pdf?kwartaal=2026-Q4", STAFF),
    ("web.corrections", "GET"): (lambda i: "/dashboard/corrections", STAFF),
    ("web.correct", "POST"): (lambda i: "/dashboard/corrections", STAFF),
    # Web Push: the service worker is a static script; devices are turned on and off by specialists, who are the
    # ones called out (tests/web/test_push_devices.py). Turning off a device that is not there answers in words.
    ("web.service_worker", "GET"): (lambda i: "/inbox/sw.js", PUBLIC),
    ("web.push_subscribe", "POST"): (lambda i: "/inbox/push/devices", SPECIALIST | {"colleague"}),
    ("web.push_unsubscribe", "POST"): (lambda i: "/inbox/push/devices/onbekend/off", SPECIALIST | {"colleague"}),
    # The on-call rota (tests/web/test_rota_screens.py).
    ("web.rota", "GET"): (lambda i: "/inbox/rooster", ROTA_READERS),
    ("web.rota_add", "POST"): (lambda i: "/inbox/rooster/diensten", ROTA_MAKER),
    ("web.rota_upload", "POST"): (lambda i: "/inbox/rooster/bestand", ROTA_MAKER),
    ("web.rota_shift", "GET"): (lambda i: f"/inbox/rooster/diensten/{i.shift}", ROTA_MAKER),
    ("web.rota_change", "POST"): (lambda i: f"/inbox/rooster/diensten/{i.shift}", ROTA_MAKER),
    ("web.rota_delete", "POST"): (lambda i: f"/inbox/rooster/diensten/{i.shift}/verwijderen", ROTA_MAKER),
    # The GP portal.
    ("portal.consults", "GET"): (lambda i: "/huisarts/", ANY_PRACTICE),
    ("portal.static", "GET"): (lambda i: "/huisarts/static/portal/portal.css", ANY_PRACTICE),
    ("portal.new_consult", "GET"): (lambda i: "/huisarts/nieuw", ANY_PRACTICE),
    ("portal.new_consult", "POST"): (lambda i: "/huisarts/nieuw", ANY_PRACTICE),
    ("portal.edit_draft", "GET"): (lambda i: f"/huisarts/concepten/{i.draft}", PORTAL_A),
    ("portal.edit_draft", "POST"): (lambda i: f"/huisarts/concepten/{i.draft}", PORTAL_A),
    ("portal.consult_patient_link", "POST"): (lambda i: f"/huisarts/consults/{i.consult}/patientlink", PORTAL_A),
    ("portal.patient_link", "POST"): (lambda i: f"/huisarts/concepten/{i.draft}/patientlink", PORTAL_A),
    ("portal.draft_file", "GET"): (lambda i: f"/huisarts/concepten/{i.draft}/bestanden/{i.draft_photo}", PORTAL_A),
    ("portal.discard_draft", "POST"): (lambda i: f"/huisarts/concepten/{i.draft}/verwijderen", PORTAL_A),
    ("portal.consult", "GET"): (lambda i: f"/huisarts/consults/{i.consult}", PORTAL_A),
    ("portal.photo", "GET"): (lambda i: f"/huisarts/consults/{i.consult}/photos/{i.photo}", PORTAL_A),
    ("portal.letter", "GET"): (lambda i: f"/huisarts/consults/{i.answered}/brief/{i.letter}", PORTAL_A),
    ("portal.answer", "POST"): (lambda i: f"/huisarts/consults/{i.consult}/answer", PORTAL_A),
    ("portal.acknowledge", "POST"): (lambda i: f"/huisarts/consults/{i.answered}/acknowledge", PORTAL_A),
    ("portal.start_referral", "POST"): (lambda i: f"/huisarts/consults/{i.answered}/referral", PORTAL_A),
    ("portal.cancel", "POST"): (lambda i: f"/huisarts/consults/{i.answered}/cancel", PORTAL_A),
    ("portal.give_verdict", "POST"): (lambda i: f"/huisarts/consults/{i.answered}/oordeel", PORTAL_A),
    ("portal.book", "POST"): (lambda i: f"/huisarts/consults/{i.ecms}/appointments/{i.appointment}/book", PORTAL_A),
    # Back-referrals (tests/web/test_back_referral_screens.py): the practice they are addressed to; taking the care
    # over is refused with words (409) once taken, asking with an empty question beside the field (400).
    ("portal.back_referral_list", "GET"): (lambda i: "/huisarts/terugverwijzingen", ANY_PRACTICE),
    ("portal.back_referral", "GET"): (lambda i: f"/huisarts/terugverwijzingen/{i.back_referral}", PORTAL_A),
    ("portal.take_over", "POST"): (lambda i: f"/huisarts/terugverwijzingen/{i.back_referral}/overnemen", PORTAL_A),
    ("portal.ask_question", "POST"): (lambda i: f"/huisarts/terugverwijzingen/{i.back_referral}/vraag", PORTAL_A),
    ("portal.back_referral_letter_pdf", "GET"): (lambda i: f"/huisarts/terugverwijzingen/{i.back_referral}/brief.pdf",
                                                 PORTAL_A),
    # The specialist's side: any specialist sends one (an empty form is refused beside its fields), only the sender
    # reads and answers theirs; the figures are the zorggroep's.
    ("web.back_referrals_sent", "GET"): (lambda i: "/inbox/terugverwijzingen", SPECIALIST | {"colleague"}),
    ("web.new_back_referral", "GET"): (lambda i: "/inbox/terugverwijzingen/nieuw", SPECIALIST | {"colleague"}),
    ("web.send_back_referral", "POST"): (lambda i: "/inbox/terugverwijzingen/nieuw", SPECIALIST | {"colleague"}),
    ("web.back_referral", "GET"): (lambda i: f"/inbox/terugverwijzingen/{i.back_referral}", SPECIALIST),
    ("web.answer_back_referral", "POST"): (lambda i: f"/inbox/terugverwijzingen/{i.back_referral}/antwoord",
                                           SPECIALIST),
    ("web.back_referral_letter_pdf", "GET"): (lambda i: f"/inbox/terugverwijzingen/{i.back_referral}/brief.pdf",
                                              SPECIALIST),
    ("web.back_referrals_csv", "GET"): (lambda i: "/dashboard/terugverwijzingen.csv?from=01-10-2026&to=31-10-2026",
                                        STAFF),
    # Reports.
    ("reports.pending", "GET"): (lambda i: "/reports/declarations/pending?insurer=3311&period=2026-10", REPORTERS),
    ("reports.close", "POST"): (lambda i: "/reports/declaration-batches", REPORTERS),
    ("reports.list_batches", "GET"): (lambda i: "/reports/declaration-batches", REPORTERS),
    ("reports.read_batch", "GET"): (lambda i: f"/reports/declaration-batches/{i.batch}", REPORTERS),
    ("reports.batch_csv", "GET"): (lambda i: f"/reports/declaration-batches/{i.batch}.csv", REPORTERS),
    ("reports.batch_claims", "GET"): (lambda i: f"/reports/declaration-batches/{i.batch}/claims", REPORTERS),
    ("reports.correct", "POST"): (lambda i: "/reports/declaration-corrections", REPORTERS),
    ("reports.subcontractor_statements", "GET"): (lambda i: "/reports/statements?period=2026-10", REPORTERS),
    ("reports.monitoring_json", "GET"): (lambda i: "/reports/monitoring?from=2026-10-01&to=2026-10-31",
                                         REPORTERS),
    ("reports.monitoring_csv", "GET"): (lambda i: "/reports/monitoring.csv?from=2026-10-01&to=2026-10-31",
                                        REPORTERS),
    ("reports.urgent_csv", "GET"): (lambda i: "/reports/monitoring/urgent.csv?from=2026-10-01&to=2026-10-31",
                                    REPORTERS),
}


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    missing = _routes(app) - set(MATRIX)
    assert not missing, f"routes without an access decision in the matrix: {sorted(missing)}"
    assert not set(MATRIX) - _routes(app), "the matrix names routes that no longer exist"


class Caller:
    """Makes a request as one role: with its bearer token, its inbox session (and CSRF token), or neither."""

    def __init__(self, http: FlaskClient, token: str | None = None, session_page: str | None = None):
        self.http, self.token = http, token
        self.csrf = csrf(http.get(session_page)) if session_page else None

    def __call__(self, method: str, url: str, resource: dict[str, Any] | None = None) -> Any:
        headers: dict[str, str] = {}
        body: Any = None
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if method in ("POST", "PUT"):
            if url.startswith(("/fhir", "/oauth")):
                headers["Content-Type"] = "application/fhir+json"
                body = json.dumps(resource or {"resourceType": "Basic"})
            elif url.startswith("/reports"):
                headers["Content-Type"] = "application/json"
                headers["X-CSRFToken"] = self.csrf or ""
                body = json.dumps({})
            else:
                body = {"csrf_token": self.csrf or ""}
        return self.http.open(url, method=method, headers=headers, data=body)


def _refused(response: Any) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    # Sent to the login page, or to the start page of the account's own screens (the inbox and the portal
    # send each other's accounts home).
    location = response.headers.get("Location", "")
    return response.status_code in (302, 303) and ("/login" in location or location in ("/", "http://localhost/"))


@pytest.fixture
def world(app: Flask, gp: GPSystem, other_gp: GPSystem, clock: FrozenClock, consult_request: dict
          ) -> tuple[Ids, dict[str, Caller]]:
    # A consult answered in October, declared in the October batch.
    clock.now = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
    october = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER,
                                                          authoredOn="2026-10-20T10:00:00+02:00")).get_json()["id"]
    with session_scope(app) as session:
        user_id = session.scalar(select(User.id).where(User.username == DEMO_USERS[0][0]))
        visser = inbox_user(session, str(user_id))
        assert visser is not None
        advice.record_advice(session, visser, october, advice.Advice("Advies.", "primary-care-advice"), clock.now)
        letter = current_letters(session, [session.get(Consult, october)])[october]
        verdict = give_verdict(session, CLI_ACTOR, session.get(Consult, october).organisation_id, october,
                               {"useful": True, "without-advice": "refer", "referral-still-needed": False},
                               source="portal", answered_by="test", now=clock.now).id
    clock.now = START
    gp._tokens.clear()
    with session_scope(app) as session:
        zorggroep = session.scalar(select(Organisation.id).where(Organisation.agb == "07300001"))
        batch = close_month(session, CLI_ACTOR, "test", str(zorggroep), "3311", Month(2026, 10), START).id

    # An open consult with a photo and a question, and a subscription, of practice A.
    binary = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
    document = gp.post("/fhir/DocumentReference", photo_document(binary)).get_json()["id"]
    body = new_request(consult_request, performer=VISSER)
    body["supportingInfo"] = [{"reference": f"DocumentReference/{document}"}]
    created = gp.post("/fhir/ServiceRequest", body)
    assert created.status_code == 201, created.get_json()
    consult = created.get_json()["id"]
    task = gp.get(f"/fhir/Task?focus={consult}").get_json()["entry"][0]["resource"]["id"]
    with session_scope(app) as session:
        message = advice.ask_gp(session, visser, consult, "Hoe lang al?", START).id
        patient = session.scalar(select(StoredResource.id).where(StoredResource.resource_type == "Patient"))
    subscription = gp.post("/fhir/Subscription", {
        "resourceType": "Subscription", "status": "requested", "reason": "x", "criteria": "Task",
        "channel": {"type": "rest-hook", "endpoint": "https://his.example.nl/hook"}}).get_json()["id"]
    ecms_body = new_request(consult_request, performer=VISSER)
    ecms_body["code"]["coding"][0]["code"] = "ecms"
    ecms = gp.post("/fhir/ServiceRequest", ecms_body).get_json()["id"]
    sent = gp.post("/fhir", example("Bundle-example-cardiology-context.json")).get_json()["entry"]
    observation = next(e["response"]["location"].split("/")[1] for e in sent
                       if e["response"]["location"].startswith("Observation/"))
    with session_scope(app) as session:
        proposal = appointments.Proposal((START + timedelta(days=2),), 20, None, "Polikliniek", False)
        appointment = appointments.propose(session, visser, ecms, proposal, START)[0].id
    bodies = {f"/fhir/Task/{task}": gp.get(f"/fhir/Task/{task}").get_json(),
              f"/fhir/Subscription/{subscription}": gp.get(f"/fhir/Subscription/{subscription}").get_json(),
              f"/fhir/Appointment/{appointment}": gp.get(f"/fhir/Appointment/{appointment}").get_json()}
    with session_scope(app) as session:
        from triage_service.consults.drafts import add_file, save_draft
        from triage_service.consults.practice import practice_actor

        jansen = inbox_user(session, str(session.scalar(select(User.id).where(User.username == "huisarts"))))
        assert jansen is not None
        prepared = save_draft(session, jansen, None, {"question": "Concept"}, START, None)
        draft_photo = add_file(session, practice_actor(jansen, None), app.extensions["triage.settings"], prepared,
                               jpeg_with_gps(), "image/jpeg", "", START)["attachment_id"]
        draft = prepared.id
    ids = Ids(consult, task, str(patient), binary, message, subscription, batch, ecms, appointment, october, draft,
              draft_photo, bodies)
    ids.letter, ids.verdict, ids.observation = letter, verdict, observation
    with session_scope(app) as session:
        from triage_service.consults.back_referrals import BackReferralForm, send

        visser_practitioner = session.scalars(select(Practitioner).where(Practitioner.agb == "03100001")).one()
        ids.back_referral = send(session, visser_practitioner, BackReferralForm(
            "03012345", "999911120", "J. de Vries", "1948-03-02", "S88", "Eczeem, rustig", "Indifferente crème",
            "Geen verbetering na 6 weken"), CLI_ACTOR, START).id
    with session_scope(app) as session:
        from triage_service.accounts.snippets import SnippetForm, add_snippet

        visser_id = str(session.scalar(select(User.id).where(User.username == DEMO_USERS[0][0])))
        ids.snippet = add_snippet(session, visser_id, SnippetForm("Eczeem", "Indifferente crème."), START).id
    with session_scope(app) as session:
        hospital = session.scalar(select(Organisation.id).where(Organisation.agb == "06010001"))
        import_rota(session, CLI_ACTOR, read_rota_file("rooster.csv", b"begin;einde;dienst;achterwacht\n"
                                                       b"2026-12-01 08:00;2026-12-02 08:00;03100001;03100002"),
                    organisation_id=str(hospital), specialism="0310")
        ids.shift = session.scalars(select(OnCallShift.id).where(OnCallShift.organisation_id == hospital)).one()
        ids.team = session.scalars(select(ExpertiseTeam.id)).one()
    return ids, _callers(app, gp, other_gp, clock)


def _callers(app: Flask, gp: GPSystem, other_gp: GPSystem, clock: FrozenClock) -> dict[str, Caller]:
    staff_secret = pyotp.random_base32()
    key, jwks = generate_client_keypair("m1")
    with session_scope(app) as session:
        create_user(session, username="matrix-staff", display_name="Staf", role=UserRole.ZORGGROEP_STAFF,
                    password=DEMO_PASSWORD, organisation_agb="07300001", totp_secret=staff_secret)
        reporting = register_client(session, name="BI", organisation_agb="07300001", jwks=jwks,
                                    scopes=["reports.read", "reports.write"]).client_id
    report_token = app.test_client().post("/oauth/token", data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion(reporting, key, "http://testserver/oauth/token", clock.now, kid="m1"),
        "scope": "reports.read reports.write"}).get_json()["access_token"]

    def session_of(username: str, secret: str) -> Caller:
        http = app.test_client()
        log_in(http, clock, username, DEMO_PASSWORD, secret)
        return Caller(http, session_page="/settings")

    cardioloog = next(u for u in DEMO_USERS if u[0] == "cardioloog")
    return {
        "anonymous": Caller(app.test_client()),
        "gp_a": Caller(app.test_client(), gp.token()),
        "gp_b": Caller(app.test_client(), other_gp.token()),
        "specialist": session_of(DEMO_USERS[0][0], DEMO_USERS[0][3]),
        "colleague": session_of(cardioloog[0], cardioloog[3]),
        "staff": session_of("matrix-staff", staff_secret),
        "reports": Caller(app.test_client(), report_token),
        "portal_a": session_of("huisarts", DEMO_PRACTICE_USERS[0][4]),
        "portal_b": session_of("huisarts-anker", DEMO_PRACTICE_USERS[1][4]),
        "rota_maker": session_of(DEMO_ROTA_MAKER[0], DEMO_ROTA_MAKER[3]),
    }


@pytest.fixture(autouse=True)
def _remove_matrix_accounts(app: Flask) -> Any:
    yield
    with session_scope(app) as session:
        session.execute(delete(User).where(User.username == "matrix-staff"))
        pks = list(session.scalars(select(ApiClient.id).where(ApiClient.name == "BI")))
        session.execute(delete(AccessToken).where(AccessToken.client_pk.in_(pks)))
        session.execute(delete(UsedAssertion).where(UsedAssertion.client_pk.in_(pks)))
        session.execute(delete(ApiClient).where(ApiClient.id.in_(pks)))


def test_each_role_reaches_exactly_what_the_matrix_allows(world: tuple[Ids, dict[str, Caller]]) -> None:
    ids, callers = world
    wrong: list[str] = []
    # Deleting the subscription and logging out change the world for the routes after them: they go last.
    last = {("portal.book", "POST"), ("portal.cancel", "POST"), ("portal.discard_draft", "POST"),
            ("fhir.delete_subscription", "DELETE"), ("web.rota_delete", "POST"), ("web.delete_snippet", "POST"),
            ("web.logout", "POST")}
    ordered = sorted(MATRIX.items(), key=lambda item: (item[0] in last, item[0] == ("web.logout", "POST")))
    for (_, method), (url_of, allowed) in ordered:
        url = url_of(ids)
        if allowed is PUBLIC:
            # Open to all; asked anonymously, because a failed login attempt ends a logged-in session.
            # The login steps answer 401 or redirect by design: only a 5xx would be wrong.
            assert callers["anonymous"](method, url).status_code < 500, f"{method} {url} failed"
            continue
        for role in sorted(ROLES, key=lambda r: r in allowed):  # refusals first: they change nothing
            response = callers[role](method, url, ids.bodies.get(url))
            # Logging out ends on the login page: for a logged-in user that is success, not refusal.
            refused = _refused(response) and not (url == "/logout" and response.status_code == 302)
            if role in allowed and refused:
                wrong.append(f"{role} was refused {method} {url} ({response.status_code})")
            if role not in allowed and not refused:
                wrong.append(f"{role} got {method} {url} ({response.status_code})")
            assert response.status_code < 500, f"{role} {method} {url} gave {response.status_code}"
    assert not wrong, "\n".join(wrong)


def test_another_practice_finds_none_of_practice_as_data(world: tuple[Ids, dict[str, Caller]]) -> None:
    ids, callers = world
    for (endpoint, method), (url_of, _) in MATRIX.items():
        if endpoint.startswith("fhir.search"):
            found = callers["gp_b"](method, url_of(ids)).get_json()
            assert found["resourceType"] == "Bundle"
            assert found["total"] == 0, f"{endpoint} shows practice A's data to practice B"
