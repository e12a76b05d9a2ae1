"""SMART Backend Services: only a registered GP system with a fresh, signed assertion gets a token."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import FrozenClock, GPSystem
from triage_service.accounts.registration import client_assertion
from triage_service.encryption.envelope import generate_client_keypair

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _token_request(client: FlaskClient, assertion: str, scope: str = "system/Task.read", **headers: str) -> Any:
    return client.post("/oauth/token", data={"grant_type": "client_credentials", "client_assertion_type":
                                             ASSERTION_TYPE, "client_assertion": assertion, "scope": scope},
                       headers=headers)


def test_a_registered_client_gets_a_short_lived_bearer_token(client: FlaskClient, gp: GPSystem) -> None:
    response = _token_request(client, gp.assertion(), "system/Task.read system/Encounter.read")

    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 300
    assert body["scope"] == "system/Task.read"  # only registered scopes are granted
    assert response.headers["Cache-Control"] == "no-store"


def test_the_smart_configuration_advertises_the_token_endpoint(client: FlaskClient) -> None:
    config = client.get("/.well-known/smart-configuration").get_json()
    assert config["token_endpoint"] == "http://testserver/oauth/token"
    assert "private_key_jwt" in config["token_endpoint_auth_methods_supported"]


def test_an_assertion_signed_with_another_key_is_refused(client: FlaskClient, gp: GPSystem,
                                                         clock: FrozenClock) -> None:
    forged_key, _ = generate_client_keypair(gp.demo.kid)
    forged = client_assertion(gp.demo.client_id, forged_key, gp.token_url, clock.now, kid=gp.demo.kid)
    response = _token_request(client, forged)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_an_expired_assertion_is_refused(client: FlaskClient, gp: GPSystem, clock: FrozenClock) -> None:
    assertion = gp.assertion()
    clock.advance(minutes=5)
    response = _token_request(client, assertion)
    assert response.status_code == 401
    assert response.get_json()["error_description"] == "client_assertion is verlopen"


def test_an_assertion_valid_for_too_long_is_refused(client: FlaskClient, gp: GPSystem) -> None:
    response = _token_request(client, gp.assertion(lifetime_seconds=3600))
    assert response.status_code == 401


def test_a_replayed_assertion_is_refused(client: FlaskClient, gp: GPSystem) -> None:
    assertion = gp.assertion()
    assert _token_request(client, assertion).status_code == 200
    replay = _token_request(client, assertion)
    assert replay.status_code == 401
    assert replay.get_json()["error_description"] == "jti van client_assertion is al eerder gebruikt (replay)"


def test_an_assertion_for_another_audience_is_refused(client: FlaskClient, gp: GPSystem, clock: FrozenClock) -> None:
    assertion = client_assertion(gp.demo.client_id, gp.demo.key_file.read_bytes(), "https://elsewhere/token",
                                 clock.now, kid=gp.demo.kid)
    response = _token_request(client, assertion)
    assert response.status_code == 401
    assert response.get_json()["error_description"] == (
        "aud van client_assertion moet het token-endpoint http://testserver/oauth/token zijn")


@pytest.mark.parametrize(("field", "value", "error"), [
    ("grant_type", "password", "unsupported_grant_type"),
    ("client_assertion_type", "basic", "invalid_request"),
    ("client_assertion", "not-a-jwt", "invalid_client"),
    ("scope", "", "invalid_scope"),
])
def test_malformed_token_requests_get_an_oauth_error(client: FlaskClient, gp: GPSystem, field: str, value: str,
                                                     error: str) -> None:
    data = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": gp.assertion(), "scope": "system/Task.read", field: value}
    response = client.post("/oauth/token", data=data)
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == error


def test_an_unknown_client_is_refused(client: FlaskClient, gp: GPSystem, clock: FrozenClock) -> None:
    assertion = client_assertion("nobody", gp.demo.key_file.read_bytes(), gp.token_url, clock.now)
    assert _token_request(client, assertion).status_code == 401


def test_the_fhir_api_without_a_token_is_a_401_operation_outcome(client: FlaskClient) -> None:
    response = client.get("/fhir/Task")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["issue"][0]["code"] == "login"


def test_a_forged_or_expired_bearer_token_is_a_401_that_says_which(client: FlaskClient, gp: GPSystem,
                                                                   clock: FrozenClock) -> None:
    forged = client.get("/fhir/Task", headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401
    assert "onbekend" in forged.get_json()["issue"][0]["diagnostics"]  # Dutch: the header asked for nothing
    headers = gp.headers()
    clock.advance(seconds=301)
    expired = client.get("/fhir/Task", headers=headers)
    assert expired.status_code == 401
    assert "has expired" in expired.get_json()["issue"][0]["diagnostics"]


def test_a_token_without_the_needed_scope_is_a_403(gp: GPSystem, consult_request: dict) -> None:
    response = gp.http.post("/fhir/ServiceRequest", json=consult_request,
                            headers=gp.headers("system/Task.read", **{"Content-Type": "application/fhir+json"}))
    assert response.status_code == 403
    assert "system/ServiceRequest" in response.get_json()["issue"][0]["diagnostics"]


def test_another_practice_cannot_read_or_find_a_consult(gp: GPSystem, other_gp: GPSystem,
                                                       consult_request: dict) -> None:
    created = gp.post("/fhir/ServiceRequest", consult_request).get_json()
    task_id = gp.get(f"/fhir/Task?focus={created['id']}").get_json()["entry"][0]["resource"]["id"]

    assert other_gp.get(f"/fhir/ServiceRequest/{created['id']}").status_code == 404
    assert other_gp.get(f"/fhir/Task/{task_id}").status_code == 404
    assert other_gp.get(f"/fhir/Task?focus={created['id']}").get_json()["total"] == 0
    cancel = other_gp.put(f"/fhir/Task/{task_id}", {"resourceType": "Task", "id": task_id, "status": "cancelled",
                                                     "intent": "order"})
    assert cancel.status_code == 404


def test_refused_access_is_audited_even_though_nothing_else_is_stored(
        app: Any, gp: GPSystem, other_gp: GPSystem, consult_request: dict) -> None:
    from sqlalchemy import select

    from triage_service.database import session_scope
    from triage_service.models import AuditEntry

    created = gp.post("/fhir/ServiceRequest", consult_request).get_json()
    other_gp.get(f"/fhir/ServiceRequest/{created['id']}")
    gp.http.get("/fhir/Task")  # no token at all

    with session_scope(app) as session:
        refused = session.scalars(select(AuditEntry).where(AuditEntry.event.like("fhir.refused.%"))).all()
        assert sorted((r.event, r.actor_id, r.outcome.value) for r in refused) == [
            ("fhir.refused.401", None, "4"), ("fhir.refused.404", other_gp.demo.client_id, "4")]
        assert next(r for r in refused if r.event.endswith("404")).resource_id == created["id"]


def test_an_assertion_issued_in_the_future_is_refused(client: FlaskClient, gp: GPSystem, clock: FrozenClock) -> None:
    from datetime import timedelta

    future = client_assertion(gp.demo.client_id, gp.demo.key_file.read_bytes(), gp.token_url,
                              clock.now + timedelta(minutes=10), kid=gp.demo.kid, lifetime_seconds=60)
    response = _token_request(client, future)
    assert response.status_code == 401
    assert response.get_json()["error_description"] == "iat van client_assertion ligt in de toekomst"


def test_the_token_endpoint_explains_a_refusal_in_dutch_and_in_english_on_request(
        client: FlaskClient, gp: GPSystem, clock: FrozenClock) -> None:
    assertion = gp.assertion()
    clock.advance(minutes=5)

    dutch = _token_request(client, assertion).get_json()
    english = _token_request(client, assertion, **{"Accept-Language": "en"}).get_json()

    assert (dutch["error"], dutch["error_description"]) == ("invalid_client", "client_assertion is verlopen")
    assert (english["error"], english["error_description"]) == ("invalid_client", "client_assertion has expired")


@pytest.mark.parametrize(("form", "dutch"), [
    ({"grant_type": "password"}, "grant_type moet client_credentials zijn"),
    ({"client_assertion": ""}, "client_assertion ontbreekt"),
    ({"scope": ""}, "scope ontbreekt (bijvoorbeeld 'system/ServiceRequest.write')"),
    ({"client_assertion": "not-a-jwt"}, "client_assertion is geen correct opgebouwde JWT"),
])
def test_each_malformed_token_request_is_answered_in_dutch(client: FlaskClient, gp: GPSystem,
                                                           form: dict[str, str], dutch: str) -> None:
    data = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": gp.assertion(), "scope": "system/Task.read", **form}
    response = client.post("/oauth/token", data=data)
    assert response.status_code in (400, 401)
    assert response.get_json()["error_description"] == dutch


def test_a_token_request_that_is_not_a_form_is_answered_in_dutch(client: FlaskClient) -> None:
    response = client.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_request", "error_description":
                                   "Stuur het tokenverzoek als application/x-www-form-urlencoded"}
