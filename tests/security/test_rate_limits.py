"""Guessing is slowed down: too many token requests or login attempts from one address get a 429."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import FrozenClock, GPSystem
from triage_service import create_app


@pytest.fixture
def limited(app: Flask, clock: FrozenClock) -> FlaskClient:
    """The service with its production limits (3 tokens and 3 logins a minute here), on the test database."""
    settings = dataclasses.replace(app.extensions["triage.settings"], rate_limit_token="3/minute",
                                   rate_limit_login="3/minute")
    return create_app(settings, clock=clock).test_client()


def _token_request(http: FlaskClient, gp: GPSystem) -> Any:
    return http.post("/oauth/token", data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": gp.assertion(), "scope": "system/Task.read"})


def test_the_fourth_token_request_in_a_minute_is_throttled(limited: FlaskClient, gp: GPSystem) -> None:
    answers = [_token_request(limited, gp) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].get_json() == {"error": "too_many_requests",
                                      "error_description": "Te veel tokenverzoeken vanaf dit adres; wacht een minuut"}
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60  # the seconds left in the window


def test_login_attempts_are_throttled_per_address(limited: FlaskClient) -> None:
    from tests.web.test_inbox import csrf

    page = limited.get("/login")
    token = csrf(page)
    answers = [limited.post("/login", data={"username": "dermatoloog", "password": "wrong-password-123",
                                            "csrf_token": token}) for _ in range(4)]

    assert answers[-1].status_code == 429
    assert "Te veel pogingen" in answers[-1].get_data(as_text=True)
    assert limited.get("/login").status_code == 200  # looking at the page is not limited


def test_a_throttled_fhir_client_still_gets_its_other_requests(limited: FlaskClient, gp: GPSystem) -> None:
    token = _token_request(limited, gp).get_json()["access_token"]
    for _ in range(4):
        _token_request(limited, gp)

    assert limited.get("/fhir/Task", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_every_throttled_request_is_audited_with_its_address(limited: FlaskClient, gp: GPSystem,
                                                            app: Flask) -> None:
    from sqlalchemy import select

    from triage_service.database import session_scope
    from triage_service.models import AuditEntry

    for _ in range(5):
        _token_request(limited, gp)

    with session_scope(app) as session:
        refusals = session.scalars(select(AuditEntry).where(AuditEntry.event == "security.rate-limit")).all()
    assert len(refusals) == 2
    assert all(r.outcome == "4" and r.source_ip == "127.0.0.1" and "oauth.token" in (r.detail or "")
               for r in refusals)


def test_with_the_shared_store_down_each_worker_still_counts_and_nothing_fails(
        app: Flask, clock: FrozenClock, gp: GPSystem) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    settings = dataclasses.replace(app.extensions["triage.settings"], rate_limit_token="3/minute",
                                   rate_limit_storage=f"redis://127.0.0.1:{closed}/0")
    http = create_app(settings, clock=clock).test_client()

    answers = [_token_request(http, gp) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]  # in this worker's memory until it is back
