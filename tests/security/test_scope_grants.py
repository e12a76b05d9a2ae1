"""A GP system gets the part of each requested scope its registration covers (SMART App Launch 2.x scopes):
wildcards and v2 letters are read as what they permit, not compared as strings."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import GPSystem
from triage_service.security.scope_grants import granted_scopes

TYPES = ["Task", "ServiceRequest", "Binary"]


def grant(requested: str, registered: str) -> list[str]:
    return granted_scopes(requested.split(), registered.split(), TYPES, ["reports.read"])


def test_a_client_registered_for_everything_gets_a_single_read_scope_as_asked() -> None:
    assert grant("system/Task.read", "system/*.*") == ["system/Task.read"]


def test_read_and_write_together_cover_the_wildcard_access_of_one_type() -> None:
    assert grant("system/Task.*", "system/Task.read system/Task.write") == ["system/Task.*"]


def test_v2_letters_are_granted_when_the_v1_registration_covers_them() -> None:
    assert grant("system/Task.rs system/Task.cu", "system/Task.read system/Task.write") == [
        "system/Task.rs", "system/Task.cu"]


def test_a_wildcard_asked_beyond_the_registration_is_granted_as_the_part_covered() -> None:
    assert grant("system/Task.*", "system/Task.read") == ["system/Task.read"]
    assert grant("system/Task.cruds", "system/Task.read") == ["system/Task.rs"]


def test_v1_has_no_word_for_read_without_search_so_the_part_is_written_in_v2_letters() -> None:
    assert grant("system/Task.read", "system/Task.r") == ["system/Task.r"]


def test_a_wildcard_type_is_granted_per_type_where_the_registration_names_types() -> None:
    # One scope per type, in the order of the type names.
    assert grant("system/*.read", "system/Task.read system/Binary.read") == ["system/Binary.read", "system/Task.read"]
    assert grant("system/*.read", "system/*.read") == ["system/*.read"]


def test_a_query_restricted_scope_is_granted_as_written_or_not_at_all() -> None:
    assert grant("system/Task.rs?status=completed", "system/Task.read") == ["system/Task.rs?status=completed"]
    assert grant("system/Task.cruds?status=completed", "system/Task.read") == []


def test_unknown_types_contexts_and_access_letters_grant_nothing() -> None:
    assert grant("system/Observation.read patient/Task.read user/Task.read system/Task.rx system/Task.rr "
                 "system/Task", "system/*.*") == []


def test_reporting_scopes_are_granted_only_as_registered() -> None:
    assert grant("reports.read reports.write", "reports.read") == ["reports.read"]
    assert grant("reports.read", "system/*.*") == []


def test_a_scope_asked_twice_is_granted_once() -> None:
    assert grant("system/Task.read system/Task.read", "system/Task.read") == ["system/Task.read"]


def _token(http: FlaskClient, gp: GPSystem, scope: str) -> dict[str, str]:
    response = http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_assertion_type":
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": gp.assertion(), "scope": scope})
    assert response.status_code == 200, response.get_json()
    body: dict[str, str] = response.get_json()
    return body


def test_the_token_endpoint_grants_the_wildcard_access_a_read_and_write_registration_covers(
        client: FlaskClient, gp: GPSystem) -> None:
    body = _token(client, gp, "system/Task.* system/Encounter.read")

    assert body["scope"] == "system/Task.*"
    tasks = client.get("/fhir/Task", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert tasks.status_code == 200


def test_the_token_endpoint_understands_v2_scopes_and_the_token_works_with_them(
        client: FlaskClient, gp: GPSystem) -> None:
    body = _token(client, gp, "system/Task.rs")

    assert body["scope"] == "system/Task.rs"
    headers = {"Authorization": f"Bearer {body['access_token']}", "Accept-Language": "en"}
    assert client.get("/fhir/Task", headers=headers).status_code == 200
    refused = client.post("/fhir/ServiceRequest", json={}, headers=headers)
    assert refused.status_code == 403
    assert "do not allow create on ServiceRequest" in refused.get_json()["issue"][0]["diagnostics"]


def test_the_smart_configuration_says_both_scope_syntaxes_are_understood(client: FlaskClient) -> None:
    capabilities = client.get("/.well-known/smart-configuration").get_json()["capabilities"]
    assert {"permission-v1", "permission-v2"} <= set(capabilities)
