"""What a search returns as the client asks: _summary=count the total alone, _total=none no total, and
Prefer: handling=lenient leaves an unknown parameter out and says so instead of refusing the search."""

from __future__ import annotations

from typing import Any

import pytest
from fhirpy import SyncFHIRClient

from tests.conftest import GPSystem, new_request


@pytest.fixture
def two_consults(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    for _ in range(2):
        assert gp.post("/fhir/ServiceRequest", new_request(consult_request)).status_code == 201


@pytest.fixture
def fhir(live_server: str, gp: GPSystem) -> SyncFHIRClient:
    return SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}")


@pytest.mark.usefixtures("two_consults")
def test_a_client_library_counts_tasks_without_fetching_them(fhir: SyncFHIRClient) -> None:
    assert fhir.resources("Task").count() == 2  # fhirpy asks _count=0 with its own _totalMethod=count


@pytest.mark.usefixtures("two_consults")
def test_summary_count_answers_the_total_without_entries(gp: GPSystem) -> None:
    bundle = gp.get("/fhir/ServiceRequest?_summary=count").get_json()

    assert bundle["total"] == 2 and "entry" not in bundle
    assert [link["relation"] for link in bundle["link"]] == ["self"]
    assert "_summary=count" in bundle["link"][0]["url"]


@pytest.mark.usefixtures("two_consults")
def test_total_none_leaves_the_total_out_and_accurate_gives_it(gp: GPSystem) -> None:
    without = gp.get("/fhir/Task?_total=none&_count=1").get_json()
    accurate = gp.get("/fhir/Task?_total=accurate").get_json()

    assert "total" not in without and len(without["entry"]) == 1
    assert any(link["relation"] == "next" for link in without["link"])  # a full page may have more
    assert accurate["total"] == 2


@pytest.mark.parametrize(("query", "named"), [("_summary=true", "_summary=true"), ("_total=exact", "_total=exact")])
def test_result_parameters_we_do_not_support_are_refused_naming_what_is(gp: GPSystem, query: str, named: str) -> None:
    response = gp.get(f"/fhir/Task?{query}")

    assert response.status_code == 400
    assert response.get_json()["issue"][0]["diagnostics"].startswith(f"{named} is not supported; supported: ")


@pytest.mark.usefixtures("two_consults")
def test_an_unknown_parameter_is_refused_by_default_and_left_out_when_the_client_prefers_lenient(
        gp: GPSystem) -> None:
    strict = gp.get("/fhir/Task?focuss=ServiceRequest/x")
    lenient = gp.get("/fhir/Task?focuss=ServiceRequest/x", Prefer="handling=lenient")

    assert strict.status_code == 400
    bundle = lenient.get_json()
    assert lenient.status_code == 200 and bundle["total"] == 2
    outcome = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert [o["resource"]["issue"][0]["diagnostics"] for o in outcome] == ["Search parameter(s) left out: focuss"]
    assert "focuss" not in bundle["link"][0]["url"]


def test_a_client_library_with_lenient_handling_gets_the_matches(fhir: SyncFHIRClient, gp: GPSystem,
                                                                  consult_request: dict[str, Any]) -> None:
    gp.post("/fhir/ServiceRequest", new_request(consult_request))
    lenient = SyncFHIRClient(fhir.url, authorization=fhir.authorization,
                             extra_headers={"Prefer": "handling=lenient"})

    tasks = lenient.resources("Task").search(unknown_thing="1").fetch()

    assert [t["resourceType"] for t in tasks] == ["Task"]


def test_the_lenient_outcome_is_dutch_by_default(gp: GPSystem) -> None:
    gp.language = None
    bundle = gp.get("/fhir/Task?focuss=x", Prefer="handling=lenient").get_json()
    assert bundle["entry"][0]["resource"]["issue"][0]["diagnostics"] == "Zoekparameter(s) weggelaten: focuss"
