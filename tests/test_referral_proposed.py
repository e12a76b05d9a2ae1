"""The Task says a consult became a referral only when it did: with the GP's authorisation to convert it is
converted-to-referral; without, the derived referral is a draft proposal and the Task says referral-proposed,
with converted-to-referral false (issue 24)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.conftest import GPSystem
from tests.test_conversion import _advise, _consult, _referral
from triage_service.fhir.profiles import PROFILE_CONSULT_TASK, registry


def task_of(gp: GPSystem, consult_id: str) -> dict[str, Any]:
    task: dict[str, Any] = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    return task


@pytest.mark.parametrize(("authorised", "business", "converted", "referral_status"), [
    (True, "converted-to-referral", True, "active"), (False, "referral-proposed", False, "draft")])
def test_the_task_says_converted_only_when_the_gp_authorised_the_referral(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], authorised: bool, business: str, converted: bool,
        referral_status: str) -> None:
    consult_id = _consult(gp, consult_request, authorised)
    _advise(app, consult_id)

    task = task_of(gp, consult_id)

    assert task["businessStatus"]["coding"][0]["code"] == business
    outputs = {o["type"]["text"]: o for o in task["output"]}
    assert outputs["converted-to-referral"]["valueBoolean"] is converted
    assert _referral(gp, consult_id).get_json()["status"] == referral_status  # the proposal is still offered
    assert [i for i in registry().validate(task, PROFILE_CONSULT_TASK) if i.is_error] == []


def test_a_gp_system_finds_its_proposals_by_business_status(app: Flask, gp: GPSystem,
                                                             consult_request: dict[str, Any]) -> None:
    proposed, authorised = _consult(gp, consult_request, False), _consult(gp, consult_request, True)
    _advise(app, proposed)
    _advise(app, authorised)

    found = gp.get("/fhir/Task?business-status=referral-proposed").get_json()

    assert [e["resource"]["focus"]["reference"] for e in found.get("entry", [])] == [f"ServiceRequest/{proposed}"]
