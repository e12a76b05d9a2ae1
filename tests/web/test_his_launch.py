"""The GP system opens the portal with the GP and the patient in context: a signed, one-time, short-lived launch."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.web.test_inbox import csrf
from tests.web.test_portal import consult_form, send
from triage_service import cli
from triage_service.accounts.registration import launch_token
from triage_service.database import session_scope
from triage_service.models import AuditEntry, Consult

LAUNCH_URL = "http://testserver/huisarts/launch"  # the public base URL the tests configure
JANSEN, BAKKER = "01012345", "01034567"  # GPs of De Linde and Het Anker, with portal accounts
WITHOUT_ACCOUNT = "01099990"  # a GP of De Linde who has no portal account (made by the test)
DE_LINDE, HET_ANKER = "03012345", "03067890"


def context(gp_agb: str = JANSEN, practice_agb: str = DE_LINDE, **extra: Any) -> dict[str, Any]:
    return {"practitioner": {"agb": gp_agb}, "organization": {"agb": practice_agb},
            "patient": {"bsn": "999990019", "birthDate": "1968-04-12", "gender": "female", "family": "Fictief",
                        "given": "Test", "postalCode": "3011 AB"},
            "insurer": {"uzovi": "3311"}, "icpc": "S74", "question": "Schilferende plekken liezen: mycose?",
            **extra}


def signed(gp: GPSystem, clock: FrozenClock, key: bytes | None = None, audience: str = LAUNCH_URL,
           **changes: Any) -> str:
    return launch_token(gp.demo.client_id, key or gp.demo.key_file.read_bytes(), audience, clock.now,
                        context(**changes), kid=gp.demo.kid)


def launch(browser: FlaskClient, token: str) -> Any:
    return browser.post("/huisarts/launch", data={"launch": token})


def logged_in(browser: FlaskClient) -> bool:
    return browser.get("/huisarts/").status_code == 200


@pytest.fixture
def browser(app: Flask) -> FlaskClient:
    return app.test_client()


def test_a_signed_launch_logs_the_gp_in_and_opens_the_form_filled_in(
        app: Flask, browser: FlaskClient, gp: GPSystem, clock: FrozenClock) -> None:
    response = launch(browser, signed(gp, clock))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="999990019"' in page and 'value="Fictief"' in page and 'value="1968-04-12"' in page
    assert 'value="S74"' in page and "Schilferende plekken liezen: mycose?" in page
    assert logged_in(browser)
    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.event == "web.login.his-launch")).one()
        assert entry.actor_id == "huisarts" and entry.detail is not None
        assert entry.detail.startswith(f"vouched-by={gp.demo.client_id};")


def test_the_launched_form_is_sent_like_any_other(app: Flask, browser: FlaskClient, gp: GPSystem,
                                                  clock: FrozenClock) -> None:
    page = launch(browser, signed(gp, clock)).get_data(as_text=True)
    draft_path = "/huisarts/concepten/" + page.split('action="/huisarts/concepten/')[1].split('"')[0]
    sent = send(browser, consult_form(), path=draft_path)
    assert sent.status_code == 302 and "/huisarts/consults/" in sent.headers["Location"]
    with session_scope(app) as session:
        assert session.scalars(select(Consult)).one().requester_agb == JANSEN


@pytest.mark.parametrize(("how", "status", "words"), [
    ("forged", 401, "niet ondertekend door een bij de dienst bekend HIS"),
    ("expired", 401, "is verlopen"),
    ("replayed", 401, "al gebruikt"),
    ("other-practice", 403, "alleen voor de eigen praktijk"),
    ("gp-without-account", 403, "geen portaalaccount"),
    ("gp-of-another-practice", 403, "geen portaalaccount"),
    ("wrong-audience", 400, "voor een ander adres van de dienst"),
    ("garbage", 400, "onvolledig of beschadigd"),
])
def test_a_bad_launch_gets_a_dutch_page_and_no_session(
        app: Flask, browser: FlaskClient, gp: GPSystem, clock: FrozenClock, how: str, status: int,
        words: str) -> None:
    if how == "forged":
        other_key = ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        token = signed(gp, clock, key=other_key)
    elif how == "expired":
        token = signed(gp, clock)
        clock.advance(minutes=3)
    elif how == "replayed":
        token = signed(gp, clock)
        assert launch(app.test_client(), token).status_code == 200
    elif how == "other-practice":
        token = signed(gp, clock, practice_agb=HET_ANKER, gp_agb=BAKKER)
    elif how == "gp-without-account":
        with session_scope(app) as session:
            from triage_service.models import Organisation, Practitioner, PractitionerRoleKind

            if session.scalar(select(Practitioner).where(Practitioner.agb == WITHOUT_ACCOUNT)) is None:
                practice = session.scalars(select(Organisation).where(Organisation.agb == DE_LINDE)).one()
                session.add(Practitioner(agb=WITHOUT_ACCOUNT, name="dr. Z. Zonder", role=PractitionerRoleKind.GP,
                                         organisation_id=practice.id))
        token = signed(gp, clock, gp_agb=WITHOUT_ACCOUNT)
    elif how == "gp-of-another-practice":
        token = signed(gp, clock, gp_agb=BAKKER)
    elif how == "wrong-audience":
        token = signed(gp, clock, audience="https://elders.example.nl/huisarts/launch")
    else:
        token = "dit-is-geen-jwt"
    response = launch(browser, token)
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert words in page and "999990019" not in page
    assert not logged_in(browser)
    with session_scope(app) as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.event == "portal.launch.refused")).all()


def test_a_launch_ends_whatever_session_the_browser_had(app: Flask, browser: FlaskClient, gp: GPSystem,
                                                        clock: FrozenClock) -> None:
    from tests.web.test_inbox import log_in

    log_in(browser, clock)  # a specialist used this browser before
    assert launch(browser, signed(gp, clock)).status_code == 200
    assert logged_in(browser)  # now the GP, in the portal
    assert browser.get("/inbox").status_code == 302


def test_the_launch_url_needs_no_csrf_token_but_the_form_it_opens_does(
        browser: FlaskClient, gp: GPSystem, clock: FrozenClock) -> None:
    page = launch(browser, signed(gp, clock))
    assert csrf(page)  # the opened form carries the session's token for its own posts


def test_triage_service_signs_a_launch_as_a_his_would_and_writes_the_page_that_posts_it(
        app: Flask, gp: GPSystem, clock: FrozenClock, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_app", lambda: app)
    page = tmp_path / "launch.html"
    result = CliRunner().invoke(cli.main, [
        "launch-token", "--client-id", gp.demo.client_id, "--key", str(gp.demo.key_file), "--kid", gp.demo.kid,
        "--launch-url", LAUNCH_URL, "--gp-agb", JANSEN, "--practice-agb", DE_LINDE, "--bsn", "999990019",
        "--birth-date", "1968-04-12", "--sex", "female", "--family", "Fictief", "--insurer", "3311",
        "--html", str(page)])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert f'value="{token}"' in page.read_text(encoding="utf-8") and oct(page.stat().st_mode)[-3:] == "600"
    assert launch(app.test_client(), token).status_code == 200


def test_a_refused_launch_does_not_log_out_whoever_is_logged_in(browser: FlaskClient, clock: FrozenClock) -> None:
    from tests.web.test_portal import gp_logs_in

    gp_logs_in(browser, clock)  # any website could post a bad launch to a logged-in GP's browser
    assert launch(browser, "dit-is-geen-jwt").status_code == 400
    assert logged_in(browser)


def test_the_same_patient_launched_twice_opens_the_same_draft(
        app: Flask, browser: FlaskClient, gp: GPSystem, clock: FrozenClock) -> None:
    first = launch(browser, signed(gp, clock)).get_data(as_text=True)
    second = launch(browser, signed(gp, clock, question="Nu ook jeuk.")).get_data(as_text=True)
    assert first.split('data-draft-url="')[1].split('"')[0] == second.split('data-draft-url="')[1].split('"')[0]
    assert "Nu ook jeuk." in second
    with session_scope(app) as session:
        from triage_service.models import ConsultDraft

        assert len(session.scalars(select(ConsultDraft)).all()) == 1


def test_a_get_of_the_launch_url_is_a_dutch_page_not_fhir(browser: FlaskClient) -> None:
    response = browser.get("/huisarts/launch")
    assert response.status_code == 405 and response.mimetype == "text/html"
