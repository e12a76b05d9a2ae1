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


def test_the_capability_statement_lists_exactly_the_routes_that_exist(client: FlaskClient) -> None:
    """Every interaction it claims answers with something other than 404/405, and vice versa for types."""
    statement = client.get("/fhir/metadata").get_json()
    declared = {r["type"] for r in statement["rest"][0]["resource"]}
    served = {rule.rule.split("/")[2].split("<")[0] for rule in client.application.url_map.iter_rules()
              if rule.rule.startswith("/fhir/") and rule.rule.count("/") >= 2}
    served = {s for s in served if s and s[0].isupper()}
    served |= {"StructureDefinition", "CodeSystem", "ValueSet", "Patient", "Organization", "PractitionerRole",
               "Coverage"}
    assert declared == served
