"""On screen: a paused norm says so instead of a due time running out, the dashboard lists the overdue and
unassignable consults (audited), and the group's specialists see the overdue consults of their group queue
at the top of the inbox."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock
from tests.reports.conftest import World, ams, world  # noqa: F401 - the reports' world fixture
from tests.web.test_dashboard import staff  # noqa: F401 - the zorggroep's staff, logged in
from tests.web.test_inbox import log_in
from triage_service.agreements.absences import add_absence
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF
from triage_service.models import AuditEntry
from triage_service.routing.deadlines import run_deadline_jobs


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _section(page: str, section_id: str) -> str:
    found = re.search(rf'<section[^>]*id="{section_id}".*?</section>', page, re.S)
    assert found, f"no section {section_id}"
    return _text(found.group(0))


def _ask(world: World, name: str, at: str) -> None:  # noqa: F811
    visser = world._specialist()
    with session_scope(world.app) as session:
        advice.ask_gp(session, visser, world.ids[name], "Heeft het gebloed?", ams(at))


def test_a_paused_consult_shows_the_paused_norm_and_the_working_time_left_not_a_due_time(
        world: World, clock: FrozenClock) -> None:  # noqa: F811
    # Due Wednesday 25 November 10:00; asked the GP Tuesday 15:00: Tue 15-17 and Wed 8-10 = 4 h working time left.
    consult_id = world.submit("asked", ams("2026-11-23 10:00"))
    _ask(world, "asked", "2026-11-24 15:00")
    clock.now = ams("2026-11-26 12:00")  # past the old due time: still not late, the norm is paused
    specialist = world.app.test_client()
    log_in(specialist, clock)

    body = specialist.get("/inbox?view=waiting").get_data(as_text=True).split("<tbody>")[1]
    row = re.search(r"<tr[^>]*>.*?</tr>", body, re.S)
    assert row is not None
    assert "Norm gepauzeerd: wacht op de huisarts nog 4 u werktijd" in _text(row.group(0))
    assert "Te laat" not in _text(row.group(0)) and 'class="overdue' not in row.group(0)
    page = _text(specialist.get(f"/consults/{consult_id}").get_data(as_text=True))
    assert "Norm gepauzeerd: wacht op de huisarts (nog 4 u werktijd)" in page


def test_a_consult_already_late_when_paused_shows_that_it_stays_late(
        world: World, clock: FrozenClock) -> None:  # noqa: F811
    consult_id = world.submit("late", ams("2026-11-23 10:00"))
    _ask(world, "late", "2026-11-25 11:00")  # an hour after its due time
    specialist = world.app.test_client()
    log_in(specialist, clock)
    page = _text(specialist.get(f"/consults/{consult_id}").get_data(as_text=True))
    assert "Norm gepauzeerd: wacht op de huisarts (was al te laat toen het wachten begon) Te laat" in page


def test_the_dashboard_lists_the_overdue_consult_and_audits_the_read(
        app: Flask, world: World, clock: FrozenClock) -> None:  # noqa: F811
    world.submit("late", ams("2026-11-23 10:00"))
    world.submit("waiting", ams("2026-11-23 10:00"))
    _ask(world, "waiting", "2026-11-24 10:00")
    clock.now = ams("2026-11-26 12:30")
    browser = app.test_client()  # logged in now: a session idle since Monday has ended
    log_in(browser, clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3])

    page = browser.get("/dashboard").get_data(as_text=True)
    section = _section(page, "overdue")
    assert "Te laat en niet op te pakken" in section
    assert "Open consulten over hun termijn: 1." in section
    # Due Wednesday 10:00, seen Thursday 12:30: 1 d 2 u 30 min in clock time, shown as days and hours.
    assert "Dermatologie , Intercollegiaal consult, Routine · Huisartsenpraktijk De Linde" in section
    assert "1 d 2 u te laat" in section and "Bij dr. L. Visser (dermatoloog)" in section
    assert world.ids["late"] in section and world.ids["waiting"] not in section
    with session_scope(app) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.event == "web.dashboard.overdue"))
        assert entry is not None and entry.detail == "overdue=1; unassignable=0" and entry.actor_id == "zorggroep"


def test_the_dashboard_says_when_nothing_is_overdue(staff: FlaskClient) -> None:  # noqa: F811
    assert "Geen open consult is over zijn termijn." in _section(staff.get("/dashboard").get_data(as_text=True),
                                                                   "overdue")


@pytest.mark.usefixtures("without_backup")  # with it, Visser's untaken consult would overflow (test_overflow.py)
def test_the_groups_specialists_see_the_overdue_consult_of_their_group_queue_at_the_top_of_the_inbox(
        world: World, clock: FrozenClock) -> None:  # noqa: F811
    consult_id = world.submit("late", ams("2026-11-23 10:00"))
    with session_scope(world.app) as session:
        # Smit is away: the monitor moves Visser's overdue consult to the hospital's group queue.
        add_absence(session, CLI_ACTOR, agb="03100002", starts_at=ams("2026-11-23 00:00"), ends_at=None)
        run_deadline_jobs(session, ams("2026-11-26 12:00"))
    clock.now = ams("2026-11-26 12:30")
    specialist = world.app.test_client()
    log_in(specialist, clock)
    page = specialist.get("/inbox").get_data(as_text=True)
    notice = _section(page, "group-overdue")
    assert "Te laat in de wachtrij van uw groep" in notice
    assert "Consulten in de wachtrij van uw groep over hun termijn: 1." in notice
    assert f'href="/consults/{consult_id}"' in page.split('id="group-overdue"')[1].split("</section>")[0]
    assert "1 d 2 u te laat" in notice
