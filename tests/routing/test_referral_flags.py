"""Requests that will probably become referrals are accepted, flagged with the rule that fired and the
conversion rate of similar consults, and recorded so reporting can measure how often flags were right."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import GPSystem, new_request
from triage_service.database import session_scope
from triage_service.models import Consult, ReferralFlag, RequestStatus
from triage_service.routing import referral_flags


def _body(request: dict[str, Any], icpc: str = "S82", specialism: str = "0310", form: str | None = None,
          birth: str | None = None) -> dict[str, Any]:
    body = new_request(request)
    body["reasonCode"][0]["coding"][0]["code"] = icpc
    body["performerType"]["coding"][0]["code"] = specialism
    if form:
        body["code"]["coding"][0]["code"] = form
    if birth:
        next(c for c in body["contained"] if c["resourceType"] == "Patient")["birthDate"] = birth
    return body


def _task(gp: GPSystem, consult_id: str) -> dict[str, Any]:
    task: dict[str, Any] = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    return task


def _complete(app: Flask, consult_id: str, converted: bool) -> None:
    """Stand-in for the specialist's answer (the inbox issue): only the fields conversion rates read."""
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None
        consult.status = RequestStatus.COMPLETED
        consult.converted_to_referral = converted
        consult.version_id += 1


def test_a_red_flag_complaint_is_accepted_flagged_and_shown_to_the_gp(gp: GPSystem, consult_request: dict) -> None:
    response = gp.post("/fhir/ServiceRequest", _body(consult_request), Prefer="return=OperationOutcome")

    assert response.status_code == 201
    issues = response.get_json()["issue"]
    warning = next(i for i in issues if i["severity"] == "warning")
    assert "Likely referral (Changing pigmented lesion)" in warning["diagnostics"]
    assert "No similar consults have been completed yet" in warning["diagnostics"]
    consult_id = response.headers["Location"].split("/")[-3]
    task = _task(gp, consult_id)
    assert task["businessStatus"]["coding"][0]["code"] == "likely-referral"
    assert task["note"][0]["text"] == warning["diagnostics"]


def test_a_complaint_without_a_flag_is_simply_assigned(gp: GPSystem, consult_request: dict) -> None:
    created = gp.post("/fhir/ServiceRequest", _body(consult_request, icpc="S74")).get_json()
    task = _task(gp, created["id"])
    assert task["businessStatus"]["coding"][0]["code"] == "assigned"
    assert "note" not in task


def test_the_gp_sees_how_many_similar_consults_became_a_referral(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    for converted in (True, False, False, True, False):
        created = gp.post("/fhir/ServiceRequest", _body(consult_request)).get_json()
        _complete(app, created["id"], converted)
    gp.post("/fhir/ServiceRequest", _body(consult_request, icpc="S77"))  # another code: not similar

    created = gp.post("/fhir/ServiceRequest", _body(consult_request)).get_json()
    assert "2 of 5 similar consults became a referral" in _task(gp, created["id"])["note"][0]["text"]
    with session_scope(app) as session:
        flag = session.scalar(select(ReferralFlag).where(ReferralFlag.consult_id == created["id"]))
        assert flag is not None and (flag.similar_total, flag.similar_converted) == (5, 2)
        assert flag.kind == "red-flag"


def test_a_worker_reuses_a_conversion_figure_for_the_configured_seconds_and_then_counts_again(
        app: Flask, gp: GPSystem, consult_request: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    first = gp.post("/fhir/ServiceRequest", _body(consult_request)).get_json()
    _complete(app, first["id"], True)
    moment = [1000.0]
    monkeypatch.setattr(referral_flags.clock, "monotonic", lambda: moment[0])
    referral_flags.configure(300)
    try:
        with session_scope(app) as session:
            assert referral_flags.conversion_rate(session, "0310", "S82") == (1, 1)
        second = gp.post("/fhir/ServiceRequest", _body(consult_request)).get_json()
        _complete(app, second["id"], False)

        moment[0] += 299  # within the period: the figure counted before is reused
        with session_scope(app) as session:
            assert referral_flags.conversion_rate(session, "0310", "S82") == (1, 1)
        moment[0] += 2  # the period is over: counted again
        with session_scope(app) as session:
            assert referral_flags.conversion_rate(session, "0310", "S82") == (2, 1)
    finally:
        referral_flags.configure(0)


def test_a_complaint_that_needs_physical_examination_is_flagged_for_a_remote_consult(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    created = gp.post("/fhir/ServiceRequest", _body(consult_request, icpc="L86", specialism="0305",
                                                    form="e-consult")).get_json()
    task = _task(gp, created["id"])
    assert task["businessStatus"]["coding"][0]["code"] == "likely-referral"
    # The agreement's words are Dutch, with the English its file gives for an English reader (issue 21).
    assert "(Radiating back pain): radiating back pain needs a neurological examination" in task["note"][0]["text"]
    gp.language = None
    dutch = _task(gp, created["id"])["note"][0]
    assert "(Uitstralende rugpijn): uitstralende rugpijn vraagt om neurologisch onderzoek" in dutch["text"]
    assert "Radiating back pain" in str(dutch["_text"])  # the English kept as the translation extension
    with session_scope(app) as session:
        assert session.scalars(select(ReferralFlag.kind)).all() == ["physical-examination"]


def test_the_physical_examination_flag_stays_quiet_for_a_consult_in_person(gp: GPSystem,
                                                                           consult_request: dict) -> None:
    created = gp.post("/fhir/ServiceRequest", _body(consult_request, icpc="L86", specialism="0305",
                                                    form="ecms")).get_json()
    assert _task(gp, created["id"])["businessStatus"]["coding"][0]["code"] == "assigned"  # seen in person anyway


def test_a_patient_only_a_referral_profile_admits_is_accepted_as_a_likely_referral(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    # Knee complaints of a 12-year-old: the orthopaedic consult profile starts at 16, the referral profile admits it.
    response = gp.post("/fhir/ServiceRequest", _body(consult_request, icpc="L15", specialism="0305",
                                                     form="e-consult", birth="2014-05-01"))
    assert response.status_code == 201, response.get_json()
    task = _task(gp, response.get_json()["id"])
    assert task["businessStatus"]["coding"][0]["code"] == "likely-referral"
    assert 'referral profile "Knieklachten kinderen (verwijzing voor triage)"' in task["note"][0]["text"]
    with session_scope(app) as session:
        kinds = session.scalars(select(ReferralFlag.kind)).all()
        assert kinds == ["referral-profile"]


def test_a_flagged_request_in_a_transaction_carries_the_warning_in_its_entry(
        gp: GPSystem, transaction_bundle: dict) -> None:
    service_request = next(e["resource"] for e in transaction_bundle["entry"]
                           if e["resource"]["resourceType"] == "ServiceRequest")
    service_request["performerType"]["coding"][0].update(code="0310", display="Dermatology")
    service_request["reasonCode"][0]["coding"][0].update(code="S77", display="Maligne neoplasma huid")
    result = gp.post("/fhir", transaction_bundle).get_json()
    flagged = [e for e in result["entry"] if "outcome" in e["response"]]
    assert [e["response"]["location"].split("/")[0] for e in flagged] == ["ServiceRequest"]
    warning = flagged[0]["response"]["outcome"]["issue"][0]
    assert warning["severity"] == "warning" and "Suspected skin malignancy" in warning["diagnostics"]


def test_validate_warns_that_a_request_would_be_a_likely_referral(gp: GPSystem, consult_request: dict) -> None:
    body = _body(consult_request, icpc="L15", specialism="0305", form="e-consult", birth="2014-05-01")
    issues = gp.post("/fhir/ServiceRequest/$validate", body).get_json()["issue"]
    assert [i["severity"] for i in issues] == ["warning"]
    assert "referral profile" in issues[0]["diagnostics"]
