"""Video consults and ECMS in the monitoring: the norm is met by the offer of an appointment, and held and
missed appointments are counted per form.

November 2026, dermatology ECMS for dr. Visser (norm: 3 working days):
  E1 submitted Mon 2 Nov 09:00, times offered 13:00 (4 h), held Thu 5 Nov, advice  -> answered in 4 h, in norm
  E2 submitted Tue 3 Nov 09:00, times offered Mon 9 Nov 09:00 (late), patient did not come
  E3 submitted Wed 4 Nov 09:00, offered 11:00, held, advice                         -> answered in 2 h
ECMS: held 2, no-show 1 (share 1/3); answered (completed) 2, median rank 1 of 2 h and 4 h -> 2 h; within norm 2.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.reports.conftest import ReportClient, World, ams
from tests.reports.test_monitoring import NOVEMBER
from triage_service.audit.trail import Actor
from triage_service.consults import appointments
from triage_service.database import session_scope
from triage_service.fhir.appointment import appointment_to_fhir

HIS = Actor(kind="client", id="test-his", organisation_id=None, source_ip="127.0.0.1")


def _appointment(world: World, name: str, offered: datetime, visit: datetime, outcome: str) -> None:
    visser = world._specialist()  # read first: SQLite allows one writer, and the session below is it
    with session_scope(world.app) as session:
        proposal = appointments.Proposal((visit,), 20, None, "Polikliniek", False)
        [appointment] = appointments.propose(session, visser, world.ids[name], proposal, offered)
        session.flush()
        booked = {**appointment_to_fhir(appointment, appointment.consult), "status": "booked"}
        appointments.update_by_gp(session, HIS, appointment, booked, None, offered)
        appointments.mark(session, visser, world.ids[name], appointment.id, outcome, "",
                          visit + timedelta(minutes=30))


def test_appointments_are_counted_per_form_and_the_offer_meets_the_norm(world: World,
                                                                         reports: ReportClient) -> None:
    world.submit("E1", ams("2026-11-02 09:00"), form="ecms")
    _appointment(world, "E1", ams("2026-11-02 13:00"), ams("2026-11-05 10:00"), "fulfilled")
    world.advise("E1", ams("2026-11-05 11:00"))
    world.submit("E2", ams("2026-11-03 09:00"), form="ecms")
    _appointment(world, "E2", ams("2026-11-09 09:00"), ams("2026-11-10 10:00"), "noshow")
    world.submit("E3", ams("2026-11-04 09:00"), form="ecms")
    _appointment(world, "E3", ams("2026-11-04 11:00"), ams("2026-11-06 10:00"), "fulfilled")
    world.advise("E3", ams("2026-11-06 11:00"))
    world.clock.now = ams("2026-12-01 10:00")

    [total] = reports.get(f"/reports/monitoring?{NOVEMBER}").get_json()["groups"]

    assert total["by_form"]["ecms"] == 3
    assert total["appointments"]["ecms"] == {"held": 2, "no_show": 1, "no_show_share": 0.3333, "cancelled": 0,
                                             "open": 0}
    assert total["appointments"]["video-consult"]["held"] == 0
    assert total["completed"] == 2
    assert total["answer_hours"] == {"median": 2.0, "p90": 4.0}  # to the offer, not to the advice days later
    assert total["within_norm"] == 2
    csv_text = reports.get(f"/reports/monitoring.csv?{NOVEMBER}").get_data(as_text=True)
    header, row = csv_text.lstrip("\ufeff").splitlines()[:2]
    columns = dict(zip(header.split(";"), row.split(";"), strict=True))
    assert (columns["ecms_gehouden"], columns["ecms_niet_verschenen"]) == ("2", "1")
