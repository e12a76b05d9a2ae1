"""The urgent consults' monitoring (issue 20, point 6) against a hand calculation.

November 2026, seen on Monday 30 November at 10:00. Sent by Huisartsenpost Rijnmond (HAP) through its GP
system, called out, taken with "Ik pak hem op" and answered in the inbox, all through the service's own code.
Norms are the HAP agreements' clock-time norms (dermatology urgent 4 h, asap 2 h; cardiology urgent 2 h,
stat 30 min, asap 1 h). Minutes are counted from submission.

HAP, dermatology (0310):
  D1 urgent, would refer,  Fri 06-11 22:00, taken +10, advice +40  primary care  -> in time; SEH avoided
  D2 asap,   would refer,  Sat 07-11 01:00, taken +25, advice +150 referral      -> late (norm 120)
  D3 asap,   unsure,       Sun 08-11 03:00, taken +5,  advice +20  primary care  -> in time; not avoided (unsure)
  D4 urgent, would refer,  Mon 09-11 23:00, taken +60, still open, due 10-11 03:00 -> past due: not in time
  taken 5, 10, 25, 60: median (rank ceil(.5*4)=2) 10 min, p90 (rank ceil(.9*4)=4) 60 min
  advice 20, 40, 150: median (rank 2) 40 min, p90 (rank ceil(2.7)=3) 150 min
  within norm: D1, D3 of D1, D2, D3 and the overdue D4 = 2 of 4 = 50%; SEH avoided 1
HAP, cardiology (0320):
  C1 stat,   would refer,  Fri 13-11 21:00, taken +3,  advice +25  primary care  -> in time; SEH avoided
  C2 stat,   would refer,  Sat 14-11 02:00, taken +12, advice +28  primary care  -> in time; SEH avoided
  C3 urgent, would refer,  Sun 15-11 04:00, not taken, declined +50 (not suitable) -> not judged on the norm
  C4 asap,   would not,    Mon 30-11 09:20, open, due 10:20, not yet due at 10:00  -> not judged on the norm
  taken 3, 12: median (rank 1) 3 min, p90 (rank 2) 12 min; advice 25, 28: median 25, p90 28
  within norm 2 of 2 = 100%; SEH avoided 2
GP practices together (De Linde), dermatology: P1 urgent, would refer, Tue 10-11 09:00, no call-out (a
  working-hours norm), advice +90 primary care -> in time; a GP practice's consult avoids no SEH assessment.
Not counted: R1 (routine, from De Linde) and X1 (urgent from the HAP, but sent on 31 October).
All urgent: 9 consults; taken 3, 5, 10, 12, 25, 60: median (rank 3) 10, p90 (rank 6) 60;
  advice 20, 25, 28, 40, 90, 150: median (rank 3) 28, p90 (rank 6) 150; within 5 of 7; SEH avoided 3.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.reports.conftest import ReportClient, World, ams, world  # noqa: F401 - the reports' world fixture
from tests.urgent.hap import hap_request, hap_system
from triage_service.audit.trail import Actor
from triage_service.consults import advice
from triage_service.consults.callouts import take_consult
from triage_service.database import session_scope
from triage_service.models import Consult, User
from triage_service.models.monitoring import ConsultFact
from triage_service.reports.facts import rebuild_facts
from triage_service.reports.urgent import percentiles
from triage_service.security.web_auth import inbox_user

NOVEMBER = "from=2026-11-01&to=2026-11-30"
SEEN_AT = "2026-11-30 10:00"
AGB = "http://fhir.nl/fhir/NamingSystem/agb-z"
SPECIALISTS = {"0310": ("dermatoloog", "03100001"), "0320": ("cardioloog", "03200001")}


@dataclass
class UrgentMonth:
    app: Flask
    clock: FrozenClock
    hap: GPSystem
    world: World
    request: dict[str, Any]
    sent: dict[str, tuple[str, datetime, str]] = field(default_factory=dict)

    def send(self, name: str, at: str, specialism: str, priority: str, intent: str = "would-refer") -> None:
        """From the HAP, to the specialist asked for (no rota: outside office hours the one asked for is called)."""
        moment = ams(at)
        self.clock.now = moment
        self.hap._tokens.clear()  # time moved: a fresh token
        icpc = "K77" if specialism == "0320" else "S88"
        body = hap_request(self.request, priority=priority, specialism=specialism, icpc=icpc,
                           authoredOn=moment.isoformat(),
                           performer=[{"identifier": {"system": AGB, "value": SPECIALISTS[specialism][1]}}])
        for extension in body["extension"]:
            if extension["url"].endswith("triage-ext-gp-intent"):
                extension["valueCodeableConcept"]["coding"][0]["code"] = intent
        response = self.hap.post("/fhir/ServiceRequest", body)
        assert response.status_code == 201, response.get_json()
        self.sent[name] = (response.get_json()["id"], moment, specialism)

    def _user(self, session: Any, name: str) -> Any:
        user_id = session.scalar(select(User.id).where(User.username == SPECIALISTS[self.sent[name][2]][0]))
        return inbox_user(session, str(user_id))

    def take(self, name: str, minutes: int) -> None:
        consult_id, sent_at, _ = self.sent[name]
        self.clock.now = sent_at + timedelta(minutes=minutes)
        with session_scope(self.app) as session:
            user = self._user(session, name)
            take_consult(session, Actor(kind="user", id=user.username, organisation_id=None, source_ip=None), user,
                         consult_id, self.clock.now)

    def advise(self, name: str, minutes: int, outcome: str = "primary-care-advice") -> None:
        consult_id, sent_at, _ = self.sent[name]
        self.clock.now = sent_at + timedelta(minutes=minutes)
        referral = ("0320", "urgent") if outcome == "referral-indicated" else (None, None)
        with session_scope(self.app) as session:
            advice.record_advice(session, self._user(session, name), consult_id,
                                 advice.Advice("Advies.", outcome, *referral), self.clock.now)

    def decline(self, name: str, minutes: int) -> None:
        consult_id, sent_at, _ = self.sent[name]
        self.clock.now = sent_at + timedelta(minutes=minutes)
        with session_scope(self.app) as session:
            advice.decline(session, self._user(session, name), consult_id, "Geen spoedvraag.", self.clock.now)


@pytest.fixture
def urgent_month(app: Flask, clock: FrozenClock, world: World, consult_request: dict[str, Any]) -> UrgentMonth:  # noqa: F811
    month = UrgentMonth(app, clock, hap_system(app, clock), world, consult_request)
    month.send("X1", "2026-10-31 23:00", "0320", "urgent")
    month.take("X1", 7)
    month.send("D1", "2026-11-06 22:00", "0310", "urgent")
    month.take("D1", 10)
    month.advise("D1", 40)
    month.send("D2", "2026-11-07 01:00", "0310", "asap")
    month.take("D2", 25)
    month.advise("D2", 150, "referral-indicated")
    month.send("D3", "2026-11-08 03:00", "0310", "asap", intent="unsure")
    month.take("D3", 5)
    month.advise("D3", 20)
    month.send("D4", "2026-11-09 23:00", "0310", "urgent")
    month.take("D4", 60)
    world.submit("P1", ams("2026-11-10 09:00"), priority="urgent")
    world.advise("P1", ams("2026-11-10 10:30"))
    world.submit("R1", ams("2026-11-11 09:00"))
    month.send("C1", "2026-11-13 21:00", "0320", "stat")
    month.take("C1", 3)
    month.advise("C1", 25)
    month.send("C2", "2026-11-14 02:00", "0320", "stat")
    month.take("C2", 12)
    month.advise("C2", 28)
    month.send("C3", "2026-11-15 04:00", "0320", "urgent")
    month.decline("C3", 50)
    month.send("C4", "2026-11-30 09:20", "0320", "asap", intent="would-not-refer")
    clock.now = ams(SEEN_AT)
    return month


def _outcomes(**counts: int) -> dict[str, int]:
    codes = ["primary-care-advice", "ecms", "referral-indicated", "other-specialism", "not-suitable",
             "referral-accepted", "returned-with-advice"]
    return {code: counts.get(code.replace("-", "_"), 0) for code in codes}


def test_the_urgent_figures_match_the_hand_calculation(urgent_month: UrgentMonth, reports: ReportClient) -> None:
    response = reports.get(f"/reports/monitoring?{NOVEMBER}")
    assert response.status_code == 200, response.get_json()
    urgent = response.get_json()["urgent"]
    cardiology, dermatology, practices = urgent["groups"]

    assert [(g["requester"]["label"], g["specialism_label"]) for g in urgent["groups"]] == [
        ("Huisartsenpost Rijnmond", "Cardiologie"), ("Huisartsenpost Rijnmond", "Dermatologie"),
        ("huisartspraktijken", "Dermatologie")]
    assert dermatology["requester"] == {"key": "04010001", "label": "Huisartsenpost Rijnmond",
                                        "kind": "out-of-hours-post"}
    assert (dermatology["consults"], dermatology["taken"], dermatology["answered"]) == (4, 4, 3)
    assert dermatology["taken_minutes"] == {"median": 10, "p90": 60}
    assert dermatology["answer_minutes"] == {"median": 40, "p90": 150}
    assert (dermatology["within_norm"], dermatology["judged_for_norm"], dermatology["within_norm_share"]) == (2, 4, 0.5)
    assert (dermatology["open"], dermatology["open_overdue"]) == (1, 1)
    assert dermatology["outcomes"] == _outcomes(primary_care_advice=2, referral_indicated=1)
    assert dermatology["emergency_assessment_avoided"] == 1

    assert (cardiology["consults"], cardiology["taken"], cardiology["answered"]) == (4, 2, 2)
    assert cardiology["taken_minutes"] == {"median": 3, "p90": 12}
    assert cardiology["answer_minutes"] == {"median": 25, "p90": 28}
    assert (cardiology["within_norm"], cardiology["judged_for_norm"], cardiology["within_norm_share"]) == (2, 2, 1.0)
    assert (cardiology["open"], cardiology["open_overdue"]) == (1, 0)
    assert cardiology["outcomes"] == _outcomes(primary_care_advice=2, not_suitable=1)
    assert cardiology["emergency_assessment_avoided"] == 2

    assert practices["requester"]["key"] == "gp-practices"
    assert (practices["consults"], practices["taken"], practices["answered"]) == (1, 0, 1)
    assert practices["taken_minutes"] == {"median": None, "p90": None}
    assert practices["answer_minutes"] == {"median": 90, "p90": 90}
    assert (practices["within_norm"], practices["judged_for_norm"]) == (1, 1)
    assert practices["emergency_assessment_avoided"] is None

    total = urgent["total"]
    assert (total["consults"], total["taken"], total["answered"]) == (9, 6, 6)
    assert total["taken_minutes"] == {"median": 10, "p90": 60}
    assert total["answer_minutes"] == {"median": 28, "p90": 150}
    assert (total["within_norm"], total["judged_for_norm"], total["within_norm_share"]) == (5, 7, round(5 / 7, 4))
    assert total["outcomes"] == _outcomes(primary_care_advice=5, referral_indicated=1, not_suitable=1)
    assert total["emergency_assessment_avoided"] == 3


def test_taking_the_call_out_fills_the_time_to_taken_and_a_rebuild_gives_the_same(
        urgent_month: UrgentMonth, app: Flask) -> None:
    with session_scope(app) as session:
        stored = dict(session.execute(select(ConsultFact.consult_id, ConsultFact.taken_minutes)).all())
        rebuild_facts(session)
        rebuilt = dict(session.execute(select(ConsultFact.consult_id, ConsultFact.taken_minutes)).all())

    minutes = {name: stored[consult_id] for name, (consult_id, _, _) in urgent_month.sent.items()}
    assert minutes == {"X1": 7, "D1": 10, "D2": 25, "D3": 5, "D4": 60, "C1": 3, "C2": 12, "C3": None, "C4": None}
    assert rebuilt == stored


def test_the_urgent_figures_download_as_dutch_csv(urgent_month: UrgentMonth, reports: ReportClient) -> None:
    response = reports.get(f"/reports/monitoring/urgent.csv?{NOVEMBER}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="monitoring-spoedconsulten.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff")), delimiter=";"))

    assert [(r["aanvrager_naam"], r["specialisme"], r["spoedconsulten"], r["opgepakt_mediaan_min"],
             r["advies_p90_min"], r["binnen_norm_aandeel"], r["seh_beoordeling_voorkomen"],
             r["uitkomst_primary-care-advice"]) for r in rows] == [
        ("Huisartsenpost Rijnmond", "0320", "4", "3", "28", "1,0", "2", "2"),
        ("Huisartsenpost Rijnmond", "0310", "4", "10", "150", "0,5", "1", "2"),
        ("huisartspraktijken", "0310", "1", "", "90", "1,0", "", "1"),
        ("alle spoedconsulten", "", "9", "10", "150", "0,7143", "3", "5")]


def test_a_period_without_urgent_consults_has_no_groups(urgent_month: UrgentMonth, reports: ReportClient) -> None:
    urgent = reports.get("/reports/monitoring?from=2025-01-01&to=2025-01-31").get_json()["urgent"]

    assert (urgent["groups"], urgent["total"]) == ([], None)


@pytest.mark.parametrize(("query", "field"), [
    ("to=2026-11-30", "from"),
    ("from=2026-11-31&to=2026-12-01", "from"),
    ("from=2026-11-10&to=2026-11-01", "to"),
    ("from=2020-01-01&to=2026-01-01", "to"),
    (f"{NOVEMBER}&colour=blue", "colour"),
])
def test_bad_periods_for_the_urgent_csv_get_field_errors(reports: ReportClient, query: str, field: str) -> None:
    response = reports.get(f"/reports/monitoring/urgent.csv?{query}")

    assert response.status_code == 400
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize(("minutes", "median", "p90"), [
    ([7], 7, 7),
    ([5, 10, 25, 60], 10, 60),       # ranks 2 and 4
    ([20, 40, 150], 40, 150),        # ranks 2 and 3
    (list(range(1, 11)), 5, 9),      # ranks 5 and 9
    ([3, 3, 3, 8], 3, 8),            # ties count each consult
    ([], None, None),
])
def test_percentiles_are_nearest_rank(minutes: list[int], median: int | None, p90: int | None) -> None:
    assert percentiles(Counter(minutes)) == {"median": median, "p90": p90}


def test_a_consult_moved_to_a_gp_practice_counts_with_the_gp_practices(urgent_month: UrgentMonth, app: Flask,
                                                                        reports: ReportClient) -> None:
    """The requester is read at report time from the organisation's kind, not stored in the fact row."""
    with session_scope(app) as session:
        consult = session.get(Consult, urgent_month.sent["C4"][0])
        assert consult is not None
        de_linde = session.get(Consult, urgent_month.world.ids["P1"])
        assert de_linde is not None
        consult.organisation_id = de_linde.organisation_id
    groups = reports.get(f"/reports/monitoring?{NOVEMBER}").get_json()["urgent"]["groups"]

    assert [(g["requester"]["key"], g["specialism"], g["consults"]) for g in groups] == [
        ("04010001", "0320", 3), ("04010001", "0310", 4), ("gp-practices", "0320", 1), ("gp-practices", "0310", 1)]
