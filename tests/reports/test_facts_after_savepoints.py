"""A savepoint rolled back inside a unit of work undoes its own changes only: what changed before it still
reaches the monitoring's fact row at the commit, and nothing the savepoint added does."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from tests.conftest import GPSystem, new_request
from triage_service.database import session_scope
from triage_service.models import ConsultFact, ConsultTask


def test_a_reassignment_before_a_rolled_back_savepoint_reaches_the_facts(app: Flask, gp: GPSystem,
                                                                         consult_request: dict) -> None:
    consult_id = gp.post("/fhir/ServiceRequest", new_request(consult_request)).get_json()["id"]

    with session_scope(app) as session:
        task = session.scalars(select(ConsultTask).where(ConsultTask.consult_id == consult_id)).one()
        task.owner_agb, task.owner_name = "03100099", "dr. Vervanger"
        session.flush()
        savepoint = session.begin_nested()
        session.add(ConsultTask(consult_id=consult_id + "-gone", organisation_id=task.organisation_id,
                                status=task.status, owner_kind="practitioner", version_id=1,
                                created_at=task.created_at, updated_at=task.updated_at))
        savepoint.rollback()

    with session_scope(app) as session:
        facts = session.scalars(select(ConsultFact).where(ConsultFact.consult_id.startswith(consult_id))).all()
        assert [(f.consult_id, f.owner_agb) for f in facts] == [(consult_id, "03100099")]
