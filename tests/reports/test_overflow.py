"""The dashboard's counts of overflowed and first-line consults (issue 23), computed by hand.

November 2026, De Linde (Dutch time):
- A: dermatology, Monday 23rd 10:00; nobody takes it; at Tuesday 10:00 half its norm has passed and it overflows
  to dr. M. de Wit of Ziekenhuis Maasstad-Zuid, who answers Tuesday 16:00: 30 hours.
- B: dermatology, Monday 10:00 for dr. Visser, who takes it and answers at 14:00: 4 hours; it does not overflow.
- C: dermatology, Tuesday 11:00, while both Rivierenland dermatologists are away: it overflows at 11:01 (nobody
  available); dr. de Wit answers Wednesday 10:00: 23 hours.
- D: the kaderhuisarts dermatologie, Monday 10:00, not answered yet.

Overflowed 2 of 4 (50%): one per reason, both to Maasstad-Zuid, answered in 30 and 23 hours (median and mean
26,5 h) against 4 hours for the one other answered consult. First-line: 1 of 4 (25%), the kaderhuisarts, 0 answered.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.reports.conftest import ams
from tests.test_first_line import answer_as, first_line_request
from tests.web.test_inbox import log_in
from triage_service.agreements.absences import add_absence
from triage_service.audit.trail import CLI_ACTOR
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF
from triage_service.models import Organisation
from triage_service.reports.first_line import first_line_figures
from triage_service.reports.overflow import overflow_figures
from triage_service.reports.periods import Month
from triage_service.routing.deadlines import run_deadline_jobs

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]


def _submit(gp: GPSystem, clock: FrozenClock, body: dict[str, Any], at: datetime) -> str:
    clock.now = at
    gp._tokens.clear()
    body["authoredOn"] = at.isoformat()
    response = gp.post("/fhir/ServiceRequest", body)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def _run(app: Flask, clock: FrozenClock, at: datetime) -> None:
    clock.now = at
    with session_scope(app) as session:
        run_deadline_jobs(session, at.astimezone(UTC))


def _november(app: Flask, gp: GPSystem, clock: FrozenClock, request: dict[str, Any]) -> None:
    from triage_service.consults.specialist import take
    from triage_service.models import ConsultTask, User
    from triage_service.security.web_auth import inbox_user

    a = _submit(gp, clock, new_request(request), ams("2026-11-23 10:00"))
    b = _submit(gp, clock, new_request(request, performer=VISSER), ams("2026-11-23 10:00"))
    _submit(gp, clock, first_line_request(request, "kaderhuisarts-dermatologie", "S88"), ams("2026-11-23 10:00"))
    with session_scope(app) as session:
        visser = inbox_user(session, session.scalars(select(User.id).where(User.username == "dermatoloog")).one())
        assert visser is not None
        take(session.scalars(select(ConsultTask).where(ConsultTask.consult_id == b)).one(), visser,
             ams("2026-11-23 10:30"))
    clock.now = ams("2026-11-23 14:00")
    assert answer_as(app, clock, "dermatoloog", b).status_code == 302
    _run(app, clock, ams("2026-11-24 10:00"))  # A: half its norm passed
    with session_scope(app) as session:
        for agb in ("03100001", "03100002"):
            add_absence(session, CLI_ACTOR, agb=agb, starts_at=ams("2026-11-24 10:30"), ends_at=None)
    c = _submit(gp, clock, new_request(request), ams("2026-11-24 11:00"))
    _run(app, clock, ams("2026-11-24 11:01"))  # C: nobody available
    clock.now = ams("2026-11-24 16:00")
    assert answer_as(app, clock, "dermatoloog-maasstad", a).status_code == 302
    clock.now = ams("2026-11-25 10:00")
    assert answer_as(app, clock, "dermatoloog-maasstad", c).status_code == 302


def _zorggroep(app: Flask) -> str:
    with session_scope(app) as session:
        return str(session.scalars(select(Organisation.id).where(Organisation.agb == "07300001")).one())


def test_the_overflow_counts_per_reason_and_the_answer_times(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    _november(app, gp, clock, consult_request)
    november = Month(2026, 11)
    with session_scope(app) as session:
        figures = overflow_figures(session, _zorggroep(app), november.start, november.end)

    assert (figures.submitted, figures.overflowed, figures.share) == (4, 2, 0.5)
    assert figures.by_reason == [("nobody-available", 1), ("norm-share-passed", 1)]
    assert figures.by_organisation == [("Ziekenhuis Maasstad-Zuid", 2)]
    assert figures.overflow_times.__dict__ == {"consults": 2, "answered": 2, "median_hours": 26.5,
                                               "mean_hours": 26.5}
    assert figures.other_times.__dict__ == {"consults": 2, "answered": 1, "median_hours": 4.0, "mean_hours": 4.0}


def test_the_first_line_share_beside_them(app: Flask, gp: GPSystem, clock: FrozenClock,
                                          consult_request: dict) -> None:
    _november(app, gp, clock, consult_request)
    november = Month(2026, 11)
    with session_scope(app) as session:
        figures = first_line_figures(session, _zorggroep(app), november.start, november.end)
    assert (figures.submitted, figures.first_line, figures.share) == (4, 1, 0.25)
    assert [(r.specialism, r.consults, r.answered) for r in figures.rows] == [("kaderhuisarts-dermatologie", 1, 0)]


def test_the_dashboard_shows_them(app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    _november(app, gp, clock, consult_request)
    clock.now = ams("2026-12-01 10:00")
    staff: FlaskClient = app.test_client()
    assert log_in(staff, clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3]).status_code == 302

    page = staff.get("/dashboard?from=2026-11-01&to=2026-11-30").get_data(as_text=True)

    section = page[page.index('id="first-line-overflow"'):]
    assert "Naar de achtervang overgelopen</th><td class=\"number\">2 (50%)" in section
    assert "Omdat geen van de eigen specialisten beschikbaar was</th><td class=\"number\">1" in section
    assert "Beantwoord door Ziekenhuis Maasstad-Zuid</th><td class=\"number\">2" in section
    assert "Aandeel eerste lijn</th><td class=\"number\">25%" in section
    assert "26,5, 26,5" in section and "4,0, 4,0" in section
    assert "/dashboard/eerstelijnsbudget/2026-11.csv" in section


def test_the_budget_csv_is_for_staff_and_audited(app: Flask, gp: GPSystem, clock: FrozenClock,
                                                 consult_request: dict) -> None:
    from triage_service.models import AuditEntry

    kader = _submit(gp, clock, first_line_request(consult_request, "kaderhuisarts-dermatologie", "S88"),
                    ams("2026-11-02 10:00"))
    clock.now = ams("2026-11-02 15:00")
    assert answer_as(app, clock, "kaderhuisarts", kader).status_code == 302
    clock.now = ams("2026-12-01 10:00") + timedelta(minutes=1)
    staff: FlaskClient = app.test_client()
    assert log_in(staff, clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3]).status_code == 302

    response = staff.get("/dashboard/eerstelijnsbudget/11-2026.csv")
    bad = staff.get("/dashboard/eerstelijnsbudget/13-2026.csv")

    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.get_data(as_text=True).splitlines()[1].startswith(f"{kader};2026-11-02;03012345;MKC-KADER-DERM")
    assert bad.status_code == 400 and "mm-jjjj" in bad.get_data(as_text=True)
    with session_scope(app) as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.event == "web.first_line_budget.csv")).one()
        assert audit.detail == "period=2026-11; lines=1"


def test_the_business_case_pays_the_backup_its_own_fee_for_the_consults_it_answered(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    """Dermatology's three answered consults cost 3 x 75,00 = 225,00. Visser's (B) is paid at Rivierenland's fee of
    55,00; A and C, answered by Maasstad-Zuid, at the backup's 60,00 each: 55 + 2 x 60 = 175,00 to subcontractors,
    50,00 stays with the zorggroep. At the local fee alone it would have read 165,00 and 60,00."""
    from triage_service.reports.monitoring import GroupBy, Window, monitoring

    _november(app, gp, clock, consult_request)
    november, zorggroep = Month(2026, 11), _zorggroep(app)
    with session_scope(app) as session:
        report = monitoring(session, zorggroep, Window(november.start, november.end), GroupBy.AGREEMENT,
                            ams("2026-12-01 10:00"))
    group = next(g for g in report["groups"] if g["key"] == "MKC-DERM")

    assert (group["completed"], group["overflowed"]) == (3, 2)
    case = group["business_case"]
    assert (case["consult_cost_cents"], case["subcontractor_share_cents"], case["zorggroep_share_cents"]) == (
        22500, 17500, 5000)
