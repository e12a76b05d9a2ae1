"""The overdue list: the zorggroep's open consults past their due time, with how late, the owner, whether the
monitor escalated them and whether anybody could take them over; consults waiting on the GP are not late.

Dermatology's routine norm is two working days: a consult sent Monday 23 November 10:00 is due Wednesday
25 November 10:00 (09:00 UTC). The list is read on Thursday 26 November 12:30 (11:30 UTC)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import new_request
from tests.reports.conftest import World, ams
from triage_service.agreements.absences import add_absence
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.models import Organisation
from triage_service.reports.overdue import OverdueConsult, group_overdue, overdue_consults
from triage_service.routing.deadlines import run_deadline_jobs

NOW = ams("2026-11-26 12:30")
DUE = ams("2026-11-25 10:00")


def _zorggroep(app: Flask) -> str:
    with session_scope(app) as session:
        zorggroep_id = session.scalar(select(Organisation.id).where(Organisation.agb == "07300001"))
        assert zorggroep_id is not None
        return zorggroep_id


def test_an_open_consult_past_its_due_time_is_listed_with_how_late_and_who_holds_it(world: World) -> None:
    zorggroep = _zorggroep(world.app)
    late = world.submit("late", ams("2026-11-23 10:00"))
    world.submit("answered", ams("2026-11-23 10:00"))
    world.advise("answered", ams("2026-11-24 10:00"))
    world.submit("not yet due", ams("2026-11-25 11:00"))  # due Friday 27 November 11:00

    with session_scope(world.app) as session:
        found = overdue_consults(session, zorggroep, NOW)

    # Wednesday 10:00 to Thursday 12:30: 26 hours 30 minutes late, in clock time.
    assert (found.total, found.unassignable) == (1, 0)
    assert found.rows == [OverdueConsult(late, "Huisartsenpraktijk De Linde", "0310", "intercollegial-consult",
                                         "routine", DUE, "dr. L. Visser (dermatoloog)", False,
                                         timedelta(hours=26, minutes=30), escalated=False, unassignable=False)]


def test_a_consult_waiting_on_the_gp_is_not_listed_and_after_the_answer_its_moved_due_time_counts(
        world: World) -> None:
    zorggroep = _zorggroep(world.app)
    consult_id = world.submit("asked", ams("2026-11-23 10:00"))
    # Asked Tuesday 24 November 10:00 (9 working hours left), the GP answers Thursday 10:00 -> due Friday 10:00.
    visser = world._specialist()
    with session_scope(world.app) as session:
        advice.ask_gp(session, visser, consult_id, "Heeft het gebloed?", ams("2026-11-24 10:00"))
    with session_scope(world.app) as session:
        assert overdue_consults(session, zorggroep, NOW).total == 0
    world.clock.now = ams("2026-11-26 10:00")
    world.gp._tokens.clear()
    [question] = world.gp.get(f"/fhir/Communication?based-on=ServiceRequest/{consult_id}").get_json()["entry"]
    task_id = world.gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]["id"]
    response = world.gp.post("/fhir/Communication", {
        "resourceType": "Communication", "status": "completed", "sent": world.clock.now.isoformat(),
        "basedOn": [{"reference": f"ServiceRequest/{consult_id}"}], "partOf": [{"reference": f"Task/{task_id}"}],
        "inResponseTo": [{"reference": f"Communication/{question['resource']['id']}"}],
        "category": [{"coding": [{"system": "https://fhir.triage-service.nl/CodeSystem/triage-message-category",
                                  "code": "information-provided"}]}],
        "payload": [{"contentString": "Ja."}]})
    assert response.status_code == 201, response.get_json()
    with session_scope(world.app) as session:
        assert overdue_consults(session, zorggroep, NOW).total == 0
        [row] = overdue_consults(session, zorggroep, ams("2026-11-27 10:01")).rows
        assert (row.due_at, row.late_by) == (ams("2026-11-27 10:00"), timedelta(minutes=1))


@pytest.mark.usefixtures("without_backup")  # with it, Visser's untaken consult would overflow (test_overflow.py)
def test_an_escalated_consult_is_marked_and_one_nobody_can_take_is_marked_unassignable(world: World) -> None:
    zorggroep = _zorggroep(world.app)
    escalated = world.submit("escalated", ams("2026-11-23 10:00"))
    # An orthopaedic e-consult: the orthopaedic group answers from its queue (no specialist named).
    ortho = new_request(world.request, authoredOn=ams("2026-11-23 10:00").isoformat())
    ortho["performerType"]["coding"][0]["code"] = "0305"
    ortho["reasonCode"][0]["coding"][0]["code"] = "L15"
    ortho["code"]["coding"][0]["code"] = "e-consult"
    created = world.gp.post("/fhir/ServiceRequest", ortho)
    assert created.status_code == 201, created.get_json()
    queued = created.get_json()["id"]
    with session_scope(world.app) as session:
        # Smit is away: Visser's overdue consult goes to the hospital's group queue.
        add_absence(session, CLI_ACTOR, agb="03100002", starts_at=ams("2026-11-23 00:00"), ends_at=None)
        run_deadline_jobs(session, ams("2026-11-26 12:00"))
    with session_scope(world.app) as session:
        found = overdue_consults(session, zorggroep, NOW)
        # Orthopaedics: 3 working days, due Thursday 26 November 10:00 -> 2 h 30 min late.
        by_id = {row.consult_id: row for row in found.rows}
        assert (found.total, found.unassignable) == (2, 1)
        assert [row.consult_id for row in found.rows] == [escalated, queued]  # most late first
        assert (by_id[escalated].escalated, by_id[escalated].unassignable, by_id[escalated].in_group_queue) == \
            (True, False, True)
        assert (by_id[queued].escalated, by_id[queued].unassignable, by_id[queued].late_by) == \
            (True, True, timedelta(hours=2, minutes=30))
        # The hospital's group sees its own queue's overdue consult; the orthopaedic group sees theirs.
        assert [row.consult_id for row in group_overdue(session, "06010001", NOW).rows] == [escalated]
        assert [row.consult_id for row in group_overdue(session, "06020002", NOW).rows] == [queued]
        assert group_overdue(session, None, NOW).total == 0


def test_another_zorggroeps_list_is_empty(world: World) -> None:
    world.submit("late", ams("2026-11-23 10:00"))
    with session_scope(world.app) as session:
        practice = session.scalar(select(Organisation.id).where(Organisation.agb == "03012345"))
        assert practice is not None
        assert overdue_consults(session, practice, NOW).total == 0
