"""An intake reads its agreement from the routing table's cached copy, not from the agreement's row (issue 25):
the context it requires and its flags' words come with the compiled profile, and a new import of the agreement
is seen at the next intake. Its append-only rows (flags, routing decision, fact, audit entries) go in as one INSERT
per table, outside the ORM's unit of work, and still read back whole."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import GPSystem, new_request
from tests.routing.test_referral_flags import _body
from tests.test_patient_context import cardiology_bundle, entry_of
from tests.test_task_search_statements import _counted
from triage_service.database import session_scope
from triage_service.models import ReferralFlag, RoutingDecision
from triage_service.models.monitoring import ConsultFact

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


def _inserts_into(statements: list[str], table: str) -> int:
    return sum(s.lstrip().upper().startswith(f"INSERT INTO {table.upper()} ") for s in statements)


def test_a_flagged_intake_writes_each_of_its_append_only_tables_in_one_insert_and_they_read_back_whole(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    assert gp.post("/fhir/ServiceRequest", new_request(consult_request)).status_code == 201  # the patient exists

    response, statements = _intake(app, gp, _body(consult_request))

    assert response.status_code == 201, response.get_json()
    for table in ("referral_flags", "routing_decisions", "consult_facts", "audit_entries"):
        assert _inserts_into(statements, table) == 1, table
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE AUDIT_ENTRIES")]
    # The known patient is found by its id alone: its encrypted resource is neither read nor decrypted.
    patient_reads = [s for s in statements
                     if "FROM stored_resources" in s and "stored_resources.identifier_token =" in s]
    assert patient_reads and all(s.split("FROM")[0].split() == ["SELECT", "stored_resources.id"] for s in patient_reads)

    consult_id = response.headers["Location"].split("/ServiceRequest/")[1].split("/")[0]
    with session_scope(app) as session:
        flags = session.scalars(select(ReferralFlag).where(ReferralFlag.consult_id == consult_id)).all()
        decision = session.scalars(select(RoutingDecision).where(RoutingDecision.consult_id == consult_id)).one()
        fact = session.get(ConsultFact, consult_id)
        assert flags and all(f.reason and f.flagged_at is not None for f in flags)
        assert decision.reason and decision.candidates and any(c["chosen"] for c in decision.candidates)
        assert fact is not None and fact.flagged and fact.state == "open"
