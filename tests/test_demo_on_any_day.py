"""The demo works on any day: its agreements do not expire, so a newcomer who starts the service years from
now still gets a consult accepted (an end date of 31 December once made every demo consult a 422)."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import FrozenClock, GPSystem, new_request
from triage_service import create_app
from triage_service.database import session_scope
from triage_service.demo import load_demo
from triage_service.migrate import upgrade_database
from triage_service.settings import Settings

IN_2031 = datetime(2031, 6, 1, 9, 30, tzinfo=UTC)  # a Sunday, years after the agreements were written


def demo_instance(settings: Settings, tmp_path: Path, now: datetime) -> tuple[Flask, Settings]:
    """A migrated, empty service of its own at ``now``: its own SQLite file and instance folder (the demo writes
    GP-system keys there), with the suite's keys, as field encryption keys are configured per process."""
    instance = tmp_path / "instance"
    shutil.copytree(settings.instance_path, instance,
                    ignore=shutil.ignore_patterns("demo-clients", "*.sqlite3*", "translations"))
    later = dataclasses.replace(settings, instance_path=instance, database_url=f"sqlite:///{instance / 'demo.db'}")
    demo_app = create_app(later, clock=FrozenClock(now))
    upgrade_database(demo_app.extensions["triage.engine"])
    return demo_app, later


def test_the_demo_loaded_in_2031_accepts_a_consult(settings: Settings, app: Flask, consult_request: dict,
                                                   tmp_path: Path) -> None:
    # Its own SQLite file and instance folder (the demo writes GP-system keys there), with the suite's keys:
    # field encryption keys are configured per process.
    instance = tmp_path / "instance"
    shutil.copytree(settings.instance_path, instance,
                    ignore=shutil.ignore_patterns("demo-clients", "*.sqlite3*", "translations"))
    later = dataclasses.replace(settings, instance_path=instance, database_url=f"sqlite:///{instance / 'demo.db'}")
    clock = FrozenClock(IN_2031)
    demo_app = create_app(later, clock=clock)
    upgrade_database(demo_app.extensions["triage.engine"])
    with session_scope(demo_app) as session:
        clients = load_demo(session, later)
    gp = GPSystem(demo_app.test_client(), clients[0], clock)

    body = new_request(consult_request, authoredOn=IN_2031.isoformat())
    response = gp.post("/fhir/ServiceRequest", body)

    assert response.status_code == 201, response.get_json()
    task = gp.get(f"/fhir/Task?focus=ServiceRequest/{response.get_json()['id']}").get_json()["entry"][0]["resource"]
    assert task["status"] in ("requested", "received", "accepted")
    assert task["restriction"]["period"]["end"].startswith("2031-06")


def test_the_demo_loaded_on_a_sunday_has_an_urgent_hap_question_calling_out_the_cardiologist_on_call(
        settings: Settings, app: Flask, tmp_path: Path) -> None:
    from sqlalchemy import select

    from triage_service.models import Consult, OnCallShift, UrgentCallout

    demo_app, later = demo_instance(settings, tmp_path, IN_2031)
    with session_scope(demo_app) as session:
        load_demo(session, later)
        urgent = session.scalar(select(Consult).where(Consult.priority == "urgent"))
        assert urgent is not None and urgent.patient_practice_agb == "03012345"
        names = {c["resourceType"]: c for c in urgent.resource["contained"]}
        assert names["Organization"]["name"] == "Huisartsenpost Rijnmond"
        assert names["PractitionerRole"]["practitioner"]["display"] == "dr. R. Hoekstra"
        callout = session.scalar(select(UrgentCallout).where(UrgentCallout.task_id == urgent.task.id))
        shift = session.scalar(select(OnCallShift).where(OnCallShift.specialism == "0320",
                                                         OnCallShift.starts_at <= IN_2031,
                                                         OnCallShift.ends_at > IN_2031))
        assert callout is not None and shift is not None
        # Sunday: the rota's cardiologist on call has it, due two hours later, and is being alerted.
        assert urgent.task.owner_agb == shift.practitioner.agb == callout.on_call_agb
        assert callout.backup_agb == shift.backup.agb and callout.taken_at is None
        assert urgent.task.due_at is not None and (urgent.task.due_at - IN_2031).total_seconds() == 7200


@pytest.mark.parametrize("day", [IN_2031, datetime(2031, 6, 4, 14, 0, tzinfo=UTC)], ids=["sunday", "wednesday"])
def test_the_demo_has_a_consult_the_backup_answered_after_half_its_norm_passed_on_any_day(
        settings: Settings, app: Flask, tmp_path: Path, day: datetime) -> None:
    from sqlalchemy import func, select

    from triage_service.models import Agreement, Consult, ConsultIdentifier, Overflow, TaskStatus
    from triage_service.routing.working_time import norm_time_between

    demo_app, later = demo_instance(settings, tmp_path, day)
    with session_scope(demo_app) as session:
        load_demo(session, later)
    with session_scope(demo_app) as session:
        load_demo(session, later)  # a second start tells the story once
        consult = session.scalars(select(Consult).join(ConsultIdentifier).where(
            ConsultIdentifier.value == "HIS-DEMO-ACHTERVANG")).one()
        overflow = session.scalars(select(Overflow)).one()
        assert session.scalar(select(func.count()).select_from(Overflow)) == 1
        task = consult.task
        assert overflow.consult_id == consult.id and overflow.reason == "norm-share-passed"
        assert (overflow.to_owner_agb, task.status, task.owner_agb) == ("03100031", TaskStatus.COMPLETED, "03100031")
        # At the hour it moved, at least the agreed half of the norm had passed; an hour before, less had.
        norm = session.get(Agreement, consult.agreement_id).answer_norms["routine"]  # type: ignore[union-attr]
        window = norm_time_between(norm, task.created_at, task.due_at)
        assert norm_time_between(norm, overflow.at, task.due_at) * 2 <= window
        assert consult.created_at < overflow.at < consult.completed_at < day
