"""Our published profiles validate their own canonical examples and are served read-only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from triage_service.fhir.parsing import parse_resource
from triage_service.fhir.profiles import (
    PROFILE_CONSULT_MESSAGE,
    PROFILE_CONSULT_PHOTO,
    PROFILE_CONSULT_REQUEST,
    PROFILE_CONSULT_TASK,
    registry,
)

PROFILES = Path(__file__).resolve().parent.parent / "fhir_profiles"
EXAMPLE_PROFILES = {"ServiceRequest": PROFILE_CONSULT_REQUEST, "Task": PROFILE_CONSULT_TASK,
                    "Communication": PROFILE_CONSULT_MESSAGE, "DocumentReference": PROFILE_CONSULT_PHOTO}


@pytest.mark.parametrize("path", sorted(PROFILES.glob("**/*.json")), ids=lambda p: p.name)
def test_every_published_resource_is_valid_fhir(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [i for i in parse_resource(data).issues if i.is_error] == []


@pytest.mark.parametrize("path", sorted((PROFILES / "examples").glob("*.json")), ids=lambda p: p.name)
def test_every_canonical_example_meets_its_profile(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    resources = [e["resource"] for e in data["entry"]] if data["resourceType"] == "Bundle" else [data]
    for resource in resources:
        profile = EXAMPLE_PROFILES.get(resource["resourceType"])
        if profile:
            contained = {c["id"]: c["resourceType"] for c in resource.get("contained", [])}
            by_url = {e["fullUrl"]: e["resource"]["resourceType"] for e in data.get("entry", [])}

            def target(ref: str, _value: dict, contained: dict = contained, by_url: dict = by_url) -> str | None:
                if ref.startswith("#"):
                    return contained.get(ref[1:])
                return by_url.get(ref) or ref.split("/")[0]

            assert registry().validate(resource, profile, target) == []


def test_every_required_binding_names_a_published_value_set() -> None:
    reg = registry()
    for (rtype, _), resource in reg.resources.items():
        if rtype != "StructureDefinition":
            continue
        for element in resource["differential"]["element"]:
            vs = element.get("binding", {}).get("valueSet")
            if vs and vs.startswith("https://fhir.triage-service.nl"):
                assert reg.value_set_codes(vs), vs


def test_a_profile_is_served_and_findable_by_url(client: FlaskClient) -> None:
    read = client.get("/fhir/StructureDefinition/triage-consult-request")
    found = client.get(f"/fhir/StructureDefinition?url={PROFILE_CONSULT_REQUEST}")
    assert read.status_code == 200 and read.get_json()["url"] == PROFILE_CONSULT_REQUEST
    assert found.get_json()["total"] == 1


def test_an_unpublished_conformance_resource_is_a_404(client: FlaskClient) -> None:
    assert client.get("/fhir/ValueSet/no-such-thing").status_code == 404


def test_the_capability_statement_is_public_and_names_this_deployments_token_endpoint(client: FlaskClient) -> None:
    statement = client.get("/fhir/metadata").get_json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert "{base-url}" not in json.dumps(statement)
    assert "http://testserver/oauth/token" in json.dumps(statement)


_INTERACTION_ROUTES = {"read": ("GET", "/fhir/{type}/some-id"), "create": ("POST", "/fhir/{type}"),
                      "update": ("PUT", "/fhir/{type}/some-id"), "delete": ("DELETE", "/fhir/{type}/some-id"),
                      "search-type": ("GET", "/fhir/{type}"), "vread": ("GET", "/fhir/{type}/some-id/_history/1")}


def test_the_capability_statement_lists_exactly_the_interactions_that_are_routed(client: FlaskClient) -> None:
    from werkzeug.exceptions import HTTPException

    statement = client.get("/fhir/metadata").get_json()
    adapter = client.application.url_map.bind("testserver")
    declared: set[tuple[str, str]] = set()
    for resource in statement["rest"][0]["resource"]:
        for interaction in resource["interaction"]:
            method, path = _INTERACTION_ROUTES[interaction["code"]]
            declared.add((method, path.format(type=resource["type"])))
            adapter.match(path.format(type=resource["type"]), method)  # raises 404/405 when not routed
        for operation in resource.get("operation", []):
            # An operation on one resource (our OperationDefinition says instance) is routed under its id.
            definition = registry().resources.get(("OperationDefinition", operation["definition"].rsplit("/", 1)[-1]))
            on = "/some-id" if definition and definition.get("instance") else ""
            adapter.match(f"/fhir/{resource['type']}{on}/${operation['name']}", "POST")

    # And the other way round: no resource type answers an interaction the statement does not declare.
    types = {r["type"] for r in statement["rest"][0]["resource"]} | {"Basic", "Binary", "Communication"}
    for rtype in types:
        for method, path in _INTERACTION_ROUTES.values():
            url = path.format(type=rtype)
            try:
                endpoint, _ = adapter.match(url, method)
            except HTTPException:
                continue
            assert (method, url) in declared, f"{method} {url} is routed ({endpoint}) but not declared"
