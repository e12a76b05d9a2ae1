"""An intake reads its agreement from the routing table's cached copy, not from the agreement's row (issue 25):
the context it requires and its flags' words come with the compiled profile, and a new import of the agreement
is seen at the next intake."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from tests.conftest import GPSystem, new_request
from tests.routing.test_referral_flags import _body
from tests.test_patient_context import cardiology_bundle, entry_of
from tests.test_task_search_statements import _counted

#: Any statement that reads agreements, except the routing table's version check (a count and a maximum).
_AGREEMENT_ROW = re.compile(r"FROM agreements(?! LEFT OUTER JOIN patient_profiles)", re.IGNORECASE)


def _intake(app: Flask, gp: GPSystem, body: dict[str, Any]) -> tuple[Any, list[str]]:
    with _counted(app) as statements:
        response = gp.post("/fhir/ServiceRequest", body, Prefer="return=OperationOutcome")
    return response, statements


def test_a_flagged_consult_is_taken_in_without_reading_its_agreement_and_says_the_flag_in_the_files_words(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    assert gp.post("/fhir/ServiceRequest", new_request(consult_request)).status_code == 201  # the table is built

    response, statements = _intake(app, gp, _body(consult_request))

    assert response.status_code == 201, response.get_json()
    assert not [s for s in statements if _AGREEMENT_ROW.search(s)]
    warnings = [i for i in response.get_json()["issue"] if i["severity"] == "warning"]
    assert warnings
    assert all(w["diagnostics"].startswith("Likely referral") for w in warnings)


def test_a_consult_without_the_context_its_agreement_requires_is_refused_without_reading_the_agreement(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    assert gp.post("/fhir/ServiceRequest", new_request(consult_request)).status_code == 201
    bundle = cardiology_bundle()
    service_request = entry_of(bundle, "ServiceRequest")["resource"]
    ecg = entry_of(bundle, "DocumentReference")["fullUrl"]
    service_request["supportingInfo"] = [r for r in service_request["supportingInfo"] if r["reference"] != ecg]

    with _counted(app) as statements:
        response = gp.post("/fhir", bundle)

    assert response.status_code == 422
    issue = response.get_json()["issue"][0]
    assert issue["code"] == "required"
    assert issue["diagnostics"].startswith("Agreement MKC-CARD requires an ECG")
    assert not [s for s in statements if _AGREEMENT_ROW.search(s)]
