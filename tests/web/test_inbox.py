"""The specialist's inbox: two-factor login, only their own or their group's consults, most urgent first."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.test_photos import jpeg_with_gps, photo_document, upload
from triage_service.accounts.registration import create_user
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_USERS
from triage_service.models import AuditEntry, User, UserRole

VISSER = DEMO_USERS[0]  # ("dermatoloog", "dr. L. Visser", "03100001", secret)


def csrf(page: Any) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_in(client: FlaskClient, clock: FrozenClock, username: str = VISSER[0], password: str = DEMO_PASSWORD,
           secret: str = VISSER[3]) -> Any:
    page = client.get("/login")
    step1 = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(page)})
    if step1.status_code != 302:
        return step1
    code_page = client.get("/login/code")
    return client.post("/login/code", data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": csrf(code_page)})


@pytest.fixture
def browser(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def smit(app: Flask) -> tuple[str, str, str]:
    """A second dermatologist of the same group, with an account."""
    secret = pyotp.random_base32()
    with session_scope(app) as session:
        existing = session.scalar(select(User).where(User.username == "k.smit.inbox"))
        if existing is None:
            create_user(session, username="k.smit.inbox", display_name="dr. K. Smit", role=UserRole.SPECIALIST,
                        password=DEMO_PASSWORD, practitioner_agb="03100002", totp_secret=secret)
        else:
            secret = existing.totp_secret
    return "k.smit.inbox", DEMO_PASSWORD, secret


def _submit(gp: GPSystem, consult_request: dict[str, Any], **changes: Any) -> str:
    response = gp.post("/fhir/ServiceRequest", new_request(consult_request, **changes))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def test_the_inbox_requires_a_login(browser: FlaskClient) -> None:
    response = browser.get("/inbox")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_a_password_alone_does_not_open_the_inbox(browser: FlaskClient) -> None:
    page = browser.get("/login")
    browser.post("/login", data={"username": VISSER[0], "password": DEMO_PASSWORD, "csrf_token": csrf(page)})
    assert browser.get("/inbox").status_code == 302


def test_login_with_password_and_code_opens_the_inbox_in_dutch(browser: FlaskClient, clock: FrozenClock) -> None:
    response = log_in(browser, clock)
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    page = browser.get("/inbox").get_data(as_text=True)
    assert '<html lang="nl">' in page and "Te beantwoorden" in page and "dr. L. Visser" in page


@pytest.mark.parametrize(("username", "password"), [("dermatoloog", "wrong-password-123"), ("nobody", "x" * 14)])
def test_a_wrong_password_or_unknown_user_gets_the_same_answer(browser: FlaskClient, clock: FrozenClock,
                                                              username: str, password: str) -> None:
    response = log_in(browser, clock, username=username, password=password)
    assert response.status_code == 401
    assert "De gebruikersnaam, het wachtwoord of de code klopt niet." in response.get_data(as_text=True)


def test_a_wrong_code_is_refused_and_a_used_code_cannot_be_replayed(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    assert log_in(browser, clock).status_code == 302
    browser.post("/logout", data={"csrf_token": csrf(browser.get("/inbox"))})
    replay = log_in(browser, clock)  # the same 30-second code again
    assert replay.status_code == 401


def test_five_failures_lock_the_account(app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    for _ in range(5):
        log_in(browser, clock, password="wrong-password-123")
    locked = log_in(browser, clock)
    assert locked.status_code == 401
    assert "tijdelijk geblokkeerd" in locked.get_data(as_text=True)
    clock.advance(minutes=16)
    assert log_in(browser, clock).status_code == 302


def test_an_idle_session_ends(browser: FlaskClient, clock: FrozenClock) -> None:
    log_in(browser, clock)
    clock.advance(minutes=31)
    assert browser.get("/inbox").status_code == 302


def test_the_inbox_lists_urgent_consults_first_then_flagged_ones_then_by_due_time(
        browser: FlaskClient, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    performer = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
    routine = _submit(gp, consult_request, performer=performer, reasonCode=[
        {"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": "S74"}]}])
    urgent = _submit(gp, consult_request, performer=performer, priority="urgent", reasonCode=[
        {"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": "S74"}]}])
    flagged = _submit(gp, consult_request, performer=performer)  # S82: a red flag
    log_in(browser, clock)

    page = browser.get("/inbox").get_data(as_text=True)

    # A flagged routine consult used to sort above an urgent one (issue 20).
    order = [page.index(f"/consults/{cid}") for cid in (urgent, flagged, routine)]
    assert order == sorted(order)
    assert "Waarschijnlijke verwijzing" in page and "999990019" not in page
    assert "Dermatologie" in page  # the specialism in Dutch, from the ValueSet's designation


def test_overdue_consults_are_marked(browser: FlaskClient, gp: GPSystem, consult_request: dict,
                                    clock: FrozenClock) -> None:
    performer = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
    _submit(gp, consult_request, performer=performer)
    clock.advance(days=5)
    log_in(browser, clock)
    assert "Te laat" in browser.get("/inbox").get_data(as_text=True)


def test_a_consult_opens_with_question_reason_and_flag_and_the_view_is_audited(
        app: Flask, browser: FlaskClient, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    performer = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
    consult_id = _submit(gp, consult_request, performer=performer)
    log_in(browser, clock)

    page = browser.get(f"/consults/{consult_id}")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "gepigmenteerde laesie" in text and "Vrouw, 58 jaar" in text
    assert "Toegewezen aan dr. L. Visser" in text  # why it came here, in Dutch
    assert "Waarschijnlijke verwijzing (Veranderende gepigmenteerde laesie)" in text and "999990019" not in text
    assert "Er zijn nog geen vergelijkbare consulten afgerond." in text  # the flag in Dutch, not the Task note
    assert "similar consults" not in text
    with session_scope(app) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.event == "web.consult.view"))
        assert entry is not None and entry.resource_id == consult_id and entry.patient_ref
        assert entry.actor_id == "dermatoloog"


def test_another_specialist_cannot_open_a_colleagues_consult(
        browser: FlaskClient, gp: GPSystem, consult_request: dict, clock: FrozenClock,
        smit: tuple[str, str, str]) -> None:
    performer = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
    consult_id = _submit(gp, consult_request, performer=performer)
    log_in(browser, clock, *smit)
    assert browser.get(f"/consults/{consult_id}").status_code == 404
    assert f"/consults/{consult_id}" not in browser.get("/inbox").get_data(as_text=True)


def test_photos_show_as_thumbnails_and_full_size_and_each_view_is_audited(
        app: Flask, browser: FlaskClient, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    documents = []
    for _ in range(2):
        binary = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
        document = gp.post("/fhir/DocumentReference", photo_document(binary)).get_json()
        documents.append({"reference": f"DocumentReference/{document['id']}"})
    body = new_request(consult_request, supportingInfo=documents, performer=[
        {"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}])
    body["code"]["coding"][0]["code"] = "e-consult"
    consult_id = gp.post("/fhir/ServiceRequest", body).get_json()["id"]
    log_in(browser, clock)

    page = browser.get(f"/consults/{consult_id}").get_data(as_text=True)
    photo_urls = sorted(set(re.findall(r'data-viewer-full="(/consults/[^"]+/photos/[^"?]+)"', page)))
    assert len(photo_urls) == 2
    thumbnail = browser.get(photo_urls[0] + "?size=thumbnail")
    thumbnail_bytes = thumbnail.data  # read each streamed response before the next request
    full = browser.get(photo_urls[0])
    full_bytes = full.data
    assert thumbnail.mimetype == full.mimetype == "image/jpeg"
    assert len(thumbnail_bytes) < len(full_bytes) and full.headers["Cache-Control"] == "no-store"
    assert browser.get(f"/consults/{consult_id}/photos/not-one-of-them").status_code == 404
    with session_scope(app) as session:
        views = session.scalars(select(AuditEntry.detail).where(AuditEntry.event == "web.photo.view")).all()
        assert sorted(views) == ["full", "thumbnail"]


def test_a_form_posted_without_csrf_token_fails(browser: FlaskClient, clock: FrozenClock) -> None:
    log_in(browser, clock)
    assert browser.post("/logout").status_code == 400
    assert browser.get("/inbox").status_code == 200  # still logged in


def test_the_interface_switches_to_english(browser: FlaskClient, clock: FrozenClock) -> None:
    log_in(browser, clock)
    browser.post("/language", data={"lang": "en", "next": "/inbox", "csrf_token": csrf(browser.get("/inbox"))})
    page = browser.get("/inbox").get_data(as_text=True)
    assert '<html lang="en">' in page and "To answer" in page


def test_pages_carry_strict_security_headers_and_cookie_flags(browser: FlaskClient, clock: FrozenClock) -> None:
    response = log_in(browser, clock)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = browser.get("/inbox")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in page.get_data(as_text=True)


def test_the_language_switch_refuses_to_redirect_elsewhere(browser: FlaskClient, clock: FrozenClock) -> None:
    log_in(browser, clock)
    response = browser.post("/language", data={"lang": "en", "next": "//evil.example/",
                                                "csrf_token": csrf(browser.get("/inbox"))})
    assert response.headers["Location"].endswith("/inbox")




def test_times_are_shown_in_dutch_time(app: Flask, browser: FlaskClient, gp: GPSystem, consult_request: dict,
                                       clock: FrozenClock) -> None:
    performer = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
    consult_id = _submit(gp, consult_request, performer=performer)  # received 09:00 UTC, a Monday in November
    log_in(browser, clock)
    page = browser.get(f"/consults/{consult_id}").get_data(as_text=True)

    assert "23 nov 2026 10:00" in page  # 09:00 UTC is 10:00 in Amsterdam (winter time)


def test_the_open_queue_index_covers_exactly_the_statuses_the_inbox_calls_open() -> None:
    from sqlalchemy.dialects import postgresql

    from triage_service.models.consult import OPEN_PREDICATE
    from triage_service.routing.assignment import OPEN_STATUSES
    from triage_service.web.inbox_list import OPEN_LITERAL

    # The partial index's condition is written out in SQL; the inbox must name the same statuses, or
    # PostgreSQL silently stops using the index.
    listed = ", ".join(f"'{status.value}'" for status in OPEN_STATUSES)
    assert f"status IN ({listed})" == OPEN_PREDICATE
    assert str(OPEN_LITERAL.compile(dialect=postgresql.dialect())) == f"consult_tasks.{OPEN_PREDICATE}"
