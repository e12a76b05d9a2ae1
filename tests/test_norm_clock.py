"""The answer norm pauses while the consult waits on the GP and resumes when the GP answers: the due time moves
on by the pause, measured as the norm measures time (working time or clock time); a consult that was already
late when it was put on hold stays late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.urgent.hap import hap_request, hap_system
from triage_service.consults import advice, norm_clock
from triage_service.consults.task_states import transition
from triage_service.database import session_scope
from triage_service.models import ConsultTask, DeadlineEvent, TaskStatus, User
from triage_service.routing.deadlines import MonitorRun, run_deadline_jobs
from triage_service.routing.working_time import AMSTERDAM, add_working_time, working_time_between
from triage_service.security.web_auth import InboxUser, inbox_user

AGB = "http://fhir.nl/fhir/NamingSystem/agb-z"
VISSER = [{"identifier": {"system": AGB, "value": "03100001"}}]
CATEGORY = "https://fhir.triage-service.nl/CodeSystem/triage-message-category"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- working time between two moments, and added ----------------------------------------------------------


def test_working_time_from_friday_afternoon_to_monday_morning_skips_the_evening_and_the_weekend() -> None:
    # Friday 27 November 15:00 - 17:00 (2 h) and Monday 30 November 08:00 - 11:00 (3 h).
    assert working_time_between(local(2026, 11, 27, 15, 0), local(2026, 11, 30, 11, 0)) == timedelta(hours=5)


def test_working_time_of_an_evening_and_a_night_is_nothing() -> None:
    assert working_time_between(local(2026, 11, 24, 17, 30), local(2026, 11, 25, 7, 59)) == timedelta()


def test_working_time_skips_christmas() -> None:
    # Thursday 24 December 16:00 - 17:00, then Christmas (Fri), Second Christmas Day (Sat), Sunday; Monday
    # 28 December 08:00 - 09:30: 2 h 30 min.
    assert working_time_between(local(2026, 12, 24, 16, 0), local(2026, 12, 28, 9, 30)) == \
        timedelta(hours=2, minutes=30)


def test_working_time_backwards_is_nothing() -> None:
    assert working_time_between(local(2026, 11, 25, 12, 0), local(2026, 11, 24, 12, 0)) == timedelta()


def test_added_working_time_carries_over_the_weekend() -> None:
    # Friday 16:30 + 2 h: half an hour on Friday, an hour and a half on Monday.
    assert add_working_time(local(2026, 11, 27, 16, 30), timedelta(hours=2)) == local(2026, 11, 30, 9, 30)


def test_added_working_time_starts_after_the_evening_and_skips_christmas() -> None:
    # Thursday 24 December 20:00: the next working moment is Monday 28 December 08:00.
    assert add_working_time(local(2026, 12, 24, 20, 0), timedelta(hours=4, minutes=15)) == \
        local(2026, 12, 28, 12, 15)


# -- the pause on a consult ------------------------------------------------------------------------------------


def _dermatologist(app: Flask) -> InboxUser:
    with session_scope(app) as session:
        user = inbox_user(session, str(session.scalar(select(User.id).where(User.username == "dermatoloog"))))
        assert user is not None
        return user


def _task(app: Flask, task_id: str) -> ConsultTask:
    with session_scope(app) as session:
        task = session.get(ConsultTask, task_id)
        assert task is not None
        session.expunge(task)
        return task


def _submit(gp: GPSystem, body: dict[str, Any]) -> tuple[str, str]:
    created = gp.post("/fhir/ServiceRequest", body)
    assert created.status_code == 201, created.get_json()
    consult_id = created.get_json()["id"]
    task_id = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]["id"]
    return consult_id, task_id


def _ask(app: Flask, consult_id: str, at: datetime) -> None:
    with session_scope(app) as session:
        advice.ask_gp(session, _dermatologist(app), consult_id, "Heeft de plek gebloed?", at)


def _gp_answers(gp: GPSystem, consult_id: str, task_id: str) -> None:
    [question] = [e["resource"] for e in gp.get(f"/fhir/Communication?based-on=ServiceRequest/{consult_id}"
                                                "&category=request-for-information").get_json()["entry"]]
    response = gp.post("/fhir/Communication", {
        "resourceType": "Communication", "status": "completed", "sent": gp.clock.now.isoformat(),
        "basedOn": [{"reference": f"ServiceRequest/{consult_id}"}], "partOf": [{"reference": f"Task/{task_id}"}],
        "inResponseTo": [{"reference": f"Communication/{question['id']}"}],
        "category": [{"coding": [{"system": CATEGORY, "code": "information-provided"}]}],
        "payload": [{"contentString": "Ja, twee keer licht gebloed."}]})
    assert response.status_code == 201, response.get_json()


def test_a_two_working_day_norm_paused_friday_afternoon_until_monday_morning_moves_by_five_working_hours(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    # Submitted Thursday 26 November 10:00: two working days end Monday 30 November 10:00.
    clock.now = local(2026, 11, 26, 10, 0).astimezone(UTC)
    consult_id, task_id = _submit(gp, new_request(consult_request, performer=VISSER))
    assert gp.get(f"/fhir/Task/{task_id}").get_json()["restriction"]["period"]["end"] == "2026-11-30T09:00:00Z"

    # Friday 15:00 the dermatologist asks the GP: the norm pauses with 4 working hours left (Fri 15-17, Mon 8-10).
    clock.now = local(2026, 11, 27, 15, 0).astimezone(UTC)
    _ask(app, consult_id, clock.now)
    paused = _task(app, task_id)
    assert (paused.status, paused.paused_at) == (TaskStatus.ON_HOLD, clock.now)
    with session_scope(app) as session:
        task = session.get(ConsultTask, task_id)
        assert task is not None
        assert norm_clock.paused(task) == norm_clock.PausedNorm(timedelta(hours=4), working_time=True)
    # While the clock waits on the GP the Task names no due time: it is not known until the GP answers.
    gp = GPSystem(app.test_client(), gp.demo, clock)  # a fresh token: a day has passed
    on_hold = gp.get(f"/fhir/Task/{task_id}").get_json()
    assert on_hold["status"] == "on-hold" and "restriction" not in on_hold

    # The GP answers Monday 11:00: paused 2 + 3 = 5 working hours, so the due time is Monday 15:00, not 10:00.
    clock.now = local(2026, 11, 30, 11, 0).astimezone(UTC)
    gp = GPSystem(app.test_client(), gp.demo, clock)  # a fresh token: four days have passed
    _gp_answers(gp, consult_id, task_id)
    resumed = _task(app, task_id)
    assert (resumed.status, resumed.paused_at) == (TaskStatus.IN_PROGRESS, None)
    assert resumed.due_at == local(2026, 11, 30, 15, 0)
    assert gp.get(f"/fhir/Task/{task_id}").get_json()["restriction"]["period"]["end"] == "2026-11-30T14:00:00Z"


def test_an_urgent_clock_time_norm_moves_by_the_pause_in_clock_time_evening_included(
        app: Flask, consult_request: dict, clock: FrozenClock) -> None:
    # The out-of-hours post's urgent skin question: 4 hours, day and night. Sent Monday 09:00 UTC: due 13:00.
    hap = hap_system(app, clock)
    consult_id, task_id = _submit(hap, hap_request(consult_request, specialism="0310", icpc="S82",
                                                   performer=VISSER))
    assert _task(app, task_id).due_at == utc(2026, 11, 23, 13, 0)
    # Asked at 11:00 (2 hours left), answered 18:00: seven hours of pause, evening and all -> due 20:00.
    _ask(app, consult_id, utc(2026, 11, 23, 11, 0))
    with session_scope(app) as session:
        task = session.get(ConsultTask, task_id)
        assert task is not None
        assert norm_clock.paused(task) == norm_clock.PausedNorm(timedelta(hours=2), working_time=False)
        transition(task, TaskStatus.IN_PROGRESS, utc(2026, 11, 23, 18, 0))
    assert _task(app, task_id).due_at == utc(2026, 11, 23, 20, 0)


def test_a_consult_already_late_when_put_on_hold_stays_late(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    # Submitted Monday 10:00 local, due Wednesday 10:00 local (09:00 UTC); asked the GP Wednesday 12:00.
    consult_id, task_id = _submit(gp, new_request(consult_request, performer=VISSER))
    due = utc(2026, 11, 25, 9, 0)
    _ask(app, consult_id, due + timedelta(hours=2))
    with session_scope(app) as session:
        task = session.get(ConsultTask, task_id)
        assert task is not None
        view = norm_clock.paused(task)
        assert view is not None and view.late
        transition(task, TaskStatus.IN_PROGRESS, due + timedelta(days=2))
    resumed = _task(app, task_id)
    assert (resumed.due_at, resumed.paused_at) == (due, None)


def test_a_paused_consult_is_not_escalated_and_after_resuming_the_moved_due_time_counts(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    # Due Wednesday 10:00 local; asked the GP Tuesday 15:00 local: 4 working hours left (Tue 15-17, Wed 8-10).
    consult_id, task_id = _submit(gp, new_request(consult_request, performer=VISSER))
    _ask(app, consult_id, local(2026, 11, 24, 15, 0))
    with session_scope(app) as session:
        assert run_deadline_jobs(session, utc(2026, 11, 26, 12, 0)) == MonitorRun(0, 0, 0)
        task = session.get(ConsultTask, task_id)
        assert task is not None
        # Resumed Thursday 26 November 08:00 local: 4 working hours on -> due Thursday 12:00 local (11:00 UTC).
        transition(task, TaskStatus.IN_PROGRESS, local(2026, 11, 26, 8, 0))
    assert _task(app, task_id).due_at == local(2026, 11, 26, 12, 0)
    with session_scope(app) as session:
        assert run_deadline_jobs(session, utc(2026, 11, 26, 10, 59)).escalated == 0
        assert run_deadline_jobs(session, utc(2026, 11, 26, 11, 1)).escalated == 1
        assert session.scalar(select(DeadlineEvent.kind).where(DeadlineEvent.task_id == task_id,
                                                               DeadlineEvent.kind == "escalated")) == "escalated"


def test_a_consult_cancelled_while_paused_keeps_no_pause(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    consult_id, task_id = _submit(gp, new_request(consult_request, performer=VISSER))
    _ask(app, consult_id, utc(2026, 11, 23, 12, 0))
    task = gp.get(f"/fhir/Task/{task_id}").get_json()
    task["status"] = "cancelled"
    assert gp.put(f"/fhir/Task/{task_id}", task).status_code == 200
    cancelled = _task(app, task_id)
    assert (cancelled.status, cancelled.paused_at) == (TaskStatus.CANCELLED, None)


def test_a_paused_consult_forwarded_to_another_specialism_gets_the_new_norm_whole_once_the_gp_answers(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    consult_id, task_id = _submit(gp, new_request(consult_request, performer=VISSER))
    _ask(app, consult_id, utc(2026, 11, 23, 10, 0))
    with session_scope(app) as session:
        task = session.get(ConsultTask, task_id)
        assert task is not None
        # Forwarded Monday 12:00 UTC (13:00 local) under a norm of 2 working days: due Wednesday 13:00 local.
        norm_clock.restart(task, local(2026, 11, 25, 13, 0), utc(2026, 11, 23, 12, 0))
        assert task.paused_at == utc(2026, 11, 23, 12, 0)
        # The GP answers Tuesday 13:00 local: 9 working hours of pause (Mon 13-17, Tue 8-13) -> Thursday 13:00.
        transition(task, TaskStatus.IN_PROGRESS, local(2026, 11, 24, 13, 0))
        assert task.due_at == local(2026, 11, 26, 13, 0)
