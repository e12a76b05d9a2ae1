"""A search for back-referrals takes the result parameters and refusals of every other search: _summary=count,
_total=none, _count and _offset with a next link, an unknown parameter refused (lenient: left out), and no empty
entry list."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from fhirpy import SyncFHIRClient
from flask import Flask

from tests.conftest import FrozenClock, GPSystem
from tests.test_back_referral_api import _sent
from triage_service.fhir.back_referrals import CS_BACK_REFERRAL

BY_CATEGORY = f"/fhir/ServiceRequest?category={CS_BACK_REFERRAL}|back-referral"
BY_CODE = f"/fhir/Task?code={CS_BACK_REFERRAL}|back-referral"


@pytest.fixture
def two_sent(app: Flask, clock: FrozenClock) -> list[str]:
    """Two back-referrals to De Linde, an hour apart: the newer comes first."""
    first = _sent(app, clock)
    clock.advance(hours=1)
    return [_sent(app, clock), first]


def test_summary_count_answers_the_number_of_back_referrals_without_them(app: Flask, clock: FrozenClock,
                                                                         gp: GPSystem) -> None:
    _sent(app, clock)

    bundle = gp.get(f"{BY_CATEGORY}&_summary=count").get_json()

    assert bundle["total"] == 1 and "entry" not in bundle


def test_total_none_leaves_the_total_out(app: Flask, clock: FrozenClock, gp: GPSystem) -> None:
    _sent(app, clock)

    bundle = gp.get(f"{BY_CATEGORY}&_total=none").get_json()

    assert "total" not in bundle and len(bundle["entry"]) == 1


def test_no_back_referral_is_an_empty_bundle_without_an_entry_list(gp: GPSystem) -> None:
    bundle = gp.get(BY_CATEGORY).get_json()

    assert bundle["total"] == 0 and "entry" not in bundle


def test_an_unknown_parameter_or_summary_value_is_refused(gp: GPSystem) -> None:
    assert gp.get(f"{BY_CATEGORY}&subject=x").status_code == 400
    assert gp.get(f"{BY_CATEGORY}&_summary=true").status_code == 400


def test_a_lenient_search_leaves_the_unknown_parameter_out_and_says_so(app: Flask, clock: FrozenClock,
                                                                      gp: GPSystem) -> None:
    _sent(app, clock)

    bundle = gp.get(f"{BY_CATEGORY}&subject=x", Prefer="handling=lenient").get_json()

    modes = [e["search"]["mode"] for e in bundle["entry"]]
    assert modes == ["match", "outcome"]


@pytest.mark.parametrize("search", [BY_CATEGORY, BY_CODE, "/fhir/Communication?part-of=Task/terugverwijzing-x"])
def test_a_count_that_is_not_a_number_is_refused_in_dutch_or_in_english_as_asked(gp: GPSystem, search: str) -> None:
    english = gp.get(f"{search}&_count=abc")
    gp.language = None  # a GP system that asks for no language gets Dutch
    dutch = gp.get(f"{search}&_count=abc")

    assert english.status_code == dutch.status_code == 400
    assert english.get_json()["resourceType"] == "OperationOutcome"
    assert english.get_json()["issue"][0]["diagnostics"] == "_count and _offset must be whole numbers"
    assert dutch.get_json()["issue"][0]["diagnostics"] == "_count en _offset moeten gehele getallen zijn"


@pytest.mark.usefixtures("two_sent")
@pytest.mark.parametrize("search", [BY_CATEGORY, BY_CODE])
def test_count_zero_answers_the_total_without_entries_or_next_link(gp: GPSystem, search: str) -> None:
    bundle = gp.get(f"{search}&_count=0").get_json()

    assert bundle["total"] == 2 and "entry" not in bundle
    assert [link["relation"] for link in bundle["link"]] == ["self"]


@pytest.mark.parametrize("search", [BY_CATEGORY, BY_CODE])
def test_count_one_gives_the_newest_and_a_next_link_to_the_other(gp: GPSystem, two_sent: list[str],
                                                                  search: str) -> None:
    first = gp.get(f"{search}&_count=1").get_json()
    links = {link["relation"]: link["url"] for link in first["link"]}
    following = urlsplit(links["next"])
    second = gp.get(f"{following.path}?{following.query}").get_json()

    assert first["total"] == second["total"] == 2
    assert [_own_id(e) for e in first["entry"]] == two_sent[:1]
    assert [_own_id(e) for e in second["entry"]] == two_sent[1:]
    assert "_offset=1" in links["next"] and [link["relation"] for link in second["link"]] == ["self"]


@pytest.mark.usefixtures("two_sent")
def test_a_client_library_gets_one_page_of_back_referral_tasks_and_counts_them_all(live_server: str,
                                                                                   gp: GPSystem) -> None:
    fhir = SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}")
    tasks = fhir.resources("Task").search(code=f"{CS_BACK_REFERRAL}|back-referral")

    assert len(tasks.limit(1).fetch()) == 1
    assert tasks.count() == 2  # fhirpy asks _count=0 and reads the total


def _own_id(entry: dict[str, Any]) -> str:
    """The back-referral's id in a ServiceRequest or Task entry (the Task's own id differs: read it from basedOn)."""
    resource = entry["resource"]
    reference = resource["id"] if resource["resourceType"] == "ServiceRequest" else resource["basedOn"][0]["reference"]
    return str(reference.split("/")[-1].removeprefix("terugverwijzing-"))
