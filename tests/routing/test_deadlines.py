"""No consult waits past its answer norm unnoticed: near-due consults are flagged, overdue ones escalated."""

from __future__ import annotations

import copy
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import START, FrozenClock, GPSystem, new_request
from triage_service.agreements.absences import add_absence
from triage_service.audit.trail import CLI_ACTOR
from triage_service.database import session_factory, session_scope
from triage_service.models import AuditEntry, ConsultTask, DeadlineEvent, RoutingDecision, TaskStatus
from triage_service.routing.deadlines import MonitorRun, run_deadline_jobs

# Dermatology routine norm is 2 working days: submitted Monday 09:00 UTC (10:00 local), due Wednesday 09:00 UTC.
DUE = START + timedelta(days=2)


def _submit(gp: GPSystem, request: dict[str, Any]) -> dict[str, Any]:
    created = gp.post("/fhir/ServiceRequest", new_request(request)).get_json()
    task: dict[str, Any] = gp.get(f"/fhir/Task?focus={created['id']}").get_json()["entry"][0]["resource"]
    return task


def _run(app: Flask, at: Any) -> MonitorRun:
    with session_scope(app) as session:
        return run_deadline_jobs(session, at)


def _events(app: Flask, kind: str) -> list[DeadlineEvent]:
    with session_scope(app) as session:
        return list(session.scalars(select(DeadlineEvent).where(DeadlineEvent.kind == kind)))


def test_the_due_time_is_two_working_days_after_submission(gp: GPSystem, consult_request: dict) -> None:
    assert _submit(gp, consult_request)["restriction"]["period"]["end"] == "2026-11-25T09:00:00Z"


def test_a_consult_in_the_last_quarter_of_its_window_is_flagged_once(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    _submit(gp, consult_request)
    assert _run(app, DUE - timedelta(hours=13)).flagged == 0  # 48 h window: flag from 12 h before
    assert _run(app, DUE - timedelta(hours=11)).flagged == 1
    assert _run(app, DUE - timedelta(hours=10)).flagged == 0
    assert len(_events(app, "near-due")) == 1


@pytest.mark.usefixtures("without_backup")  # with it, the untaken consult would overflow first (test_overflow.py)
def test_an_overdue_consult_is_escalated_once_to_an_available_colleague(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    task = _submit(gp, consult_request)
    first_owner = task["owner"]["identifier"]["value"]

    assert _run(app, DUE + timedelta(minutes=1)).escalated == 1
    assert _run(app, DUE + timedelta(hours=5)).escalated == 0

    after = gp.get(f"/fhir/Task/{task['id']}")
    assert after.get_json()["owner"]["identifier"]["value"] not in (first_owner, None)
    assert after.headers["ETag"] == 'W/"2"'
    [event] = _events(app, "escalated")
    assert event.from_owner_agb == first_owner and "Past its due time" in event.reason
    with session_scope(app) as session:
        decisions = session.scalars(select(RoutingDecision).order_by(RoutingDecision.decided_at)).all()
        assert [d.owner_agb for d in decisions][:1] == [first_owner] and len(decisions) == 2
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.event == "routing.escalate")) == 1


@pytest.mark.usefixtures("without_backup")
def test_with_every_colleague_away_the_overdue_consult_goes_to_the_group_queue(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    task = _submit(gp, consult_request)
    other = "03100002" if task["owner"]["identifier"]["value"] == "03100001" else "03100001"
    with session_scope(app) as session:
        add_absence(session, CLI_ACTOR, agb=other, starts_at=START, ends_at=None)
    _run(app, DUE + timedelta(minutes=1))
    owner = gp.get(f"/fhir/Task/{task['id']}").get_json()["owner"]
    assert owner["type"] == "Organization" and owner["identifier"]["value"] == "06010001"


def test_a_consult_already_in_the_group_queue_is_reported_not_bounced(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    ortho = copy.deepcopy(consult_request)
    ortho["performerType"]["coding"][0]["code"] = "0305"
    ortho["reasonCode"][0]["coding"][0]["code"] = "L15"
    ortho["code"]["coding"][0]["code"] = "e-consult"
    _submit(gp, ortho)
    run = _run(app, START + timedelta(days=30))
    assert (run.escalated, run.unassignable) == (0, 1)
    assert len(_events(app, "overdue-unassignable")) == 1


def test_a_consult_waiting_on_the_gp_is_not_escalated(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    task = _submit(gp, consult_request)
    with session_scope(app) as session:
        row = session.get(ConsultTask, task["id"])
        assert row is not None
        row.status = TaskStatus.ON_HOLD
        row.version_id += 1
    assert _run(app, DUE + timedelta(days=1)) == MonitorRun(0, 0, 0)


def test_two_workers_side_by_side_escalate_each_consult_once(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    for _ in range(6):
        _submit(gp, consult_request)
    barrier = threading.Barrier(2)
    runs: list[MonitorRun] = []

    def work() -> None:
        session = session_factory(app)()
        try:
            barrier.wait()
            runs.append(run_deadline_jobs(session, DUE + timedelta(minutes=1)))
            session.commit()
        finally:
            session.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(r.escalated for r in runs) == 6
    assert len(_events(app, "escalated")) == 6


def test_the_worker_command_runs_one_pass(app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock,
                                          monkeypatch: Any) -> None:
    from click.testing import CliRunner

    from triage_service import cli

    _submit(gp, consult_request)
    monkeypatch.setattr(cli, "_app", lambda: app)
    clock.now = DUE + timedelta(minutes=1)
    result = CliRunner().invoke(cli.main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "escalated 1" in result.output
