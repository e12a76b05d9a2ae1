"""The GPs' verdicts on the advice per specialism (issue 22, point 4), against figures computed by hand.

November's dermatology consults of De Linde for dr. Visser:

====  ===============  ====================  ==================================  =======================
name  GP's intent      what happened         verdict (useful, without, needed)   prevented by
====  ===============  ====================  ==================================  =======================
A     would-refer      advice                yes, refer, no                      intent and verdict
B     would-refer      advice                no, not-refer, no                   intent
C     would-not-refer  advice                yes, refer, no                      verdict
D     would-refer      advice: refer         yes, refer, yes                     (became a referral)
E     would-refer      advice                none                                intent
F     would-refer      declined              -                                   (not answered)
G     would-refer      open                  -                                   (not answered)
====  ===============  ====================  ==================================  =======================

Answered with advice: A-E = 5; verdicts 4, so a response rate of 4/5 = 80%; useful A, C, D = 3 of 4 = 75%;
without the advice: refer A, C, D = 3, not-refer B = 1, other 0; a referral still needed: D = 1.
Prevented by the intent before: A, B, E = 3; by the verdict after: A, C = 2; by both: A = 1.
An October consult with a verdict lies outside the period and counts nowhere.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from tests.reports.conftest import ZORGGROEP_AGB, ReportClient, World, ams
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults.verdicts import give_verdict
from triage_service.database import session_scope
from triage_service.models import Consult, Organisation
from triage_service.reports.verdicts import verdict_figures


def judge(app: Flask, consult_id: str, useful: bool, without: str, needed: bool) -> None:
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None
        give_verdict(session, CLI_ACTOR, consult.organisation_id, consult_id,
                     {"useful": useful, "without-advice": without, "referral-still-needed": needed},
                     source="fhir", answered_by="test", now=ams("2026-11-20 12:00"))


def november(world: World, app: Flask) -> None:
    world.submit("october", ams("2026-10-30 10:00"))
    world.advise("october", ams("2026-10-30 15:00"))
    judge(app, world.ids["october"], True, "refer", False)
    for name, intent in (("A", "would-refer"), ("B", "would-refer"), ("C", "would-not-refer"), ("D", "would-refer"),
                         ("E", "would-refer"), ("F", "would-refer"), ("G", "would-refer")):
        world.submit(name, ams("2026-11-03 10:00"), intent=intent)
    for name in "ABCE":
        world.advise(name, ams("2026-11-04 10:00"))
    world.advise("D", ams("2026-11-04 10:00"), outcome="referral-indicated")
    world.decline("F", ams("2026-11-04 10:00"))
    judge(app, world.ids["A"], True, "refer", False)
    judge(app, world.ids["B"], False, "not-refer", False)
    judge(app, world.ids["C"], True, "refer", False)
    judge(app, world.ids["D"], True, "refer", True)


def test_the_verdicts_per_specialism_match_the_figures_computed_by_hand(app: Flask, world: World) -> None:
    november(world, app)
    with session_scope(app) as session:
        zorggroep = str(session.scalar(select(Organisation.id).where(Organisation.agb == ZORGGROEP_AGB)))
        report = verdict_figures(session, zorggroep, ams("2026-11-01 00:00"), ams("2026-12-01 00:00"))

    [dermatology] = report.rows
    assert (dermatology.key, dermatology.label) == ("0310", "Dermatologie")
    assert (dermatology.answered, dermatology.verdicts, dermatology.response_rate) == (5, 4, 0.8)
    assert (dermatology.useful, dermatology.useful_share) == (3, 0.75)
    assert (dermatology.without_refer, dermatology.without_not_refer, dermatology.without_other) == (3, 1, 0)
    assert dermatology.referral_still_needed == 1
    assert (dermatology.prevented_by_intent, dermatology.prevented_by_verdict,
            dermatology.prevented_by_both) == (3, 2, 1)
    assert report.total.as_json() == {**dermatology.as_json(), "key": "total", "label": "total"}


def test_a_period_without_answered_consults_has_no_rows_and_no_rates(app: Flask, world: World) -> None:
    november(world, app)
    with session_scope(app) as session:
        zorggroep = str(session.scalar(select(Organisation.id).where(Organisation.agb == ZORGGROEP_AGB)))
        report = verdict_figures(session, zorggroep, ams("2026-12-01 00:00"), ams("2027-01-01 00:00"))

    assert report.rows == []
    assert (report.total.answered, report.total.response_rate, report.total.useful_share) == (0, None, None)


def test_the_october_verdict_counts_in_october_only(app: Flask, world: World) -> None:
    november(world, app)
    with session_scope(app) as session:
        zorggroep = str(session.scalar(select(Organisation.id).where(Organisation.agb == ZORGGROEP_AGB)))
        report = verdict_figures(session, zorggroep, ams("2026-10-01 00:00"), ams("2026-11-01 00:00"))

    assert (report.total.answered, report.total.verdicts, report.total.prevented_by_both) == (1, 1, 1)


def test_the_reporting_api_gives_the_verdicts_beside_the_monitoring(app: Flask, world: World,
                                                                    reports: ReportClient) -> None:
    november(world, app)

    body = reports.get("/reports/monitoring?from=2026-11-01&to=2026-11-30").get_json()

    [dermatology] = body["verdicts"]["rows"]
    assert {k: dermatology[k] for k in ("key", "answered", "verdicts", "response_rate", "useful_share",
                                        "prevented_by_intent", "prevented_by_verdict", "prevented_by_both")} == {
        "key": "0310", "answered": 5, "verdicts": 4, "response_rate": 0.8, "useful_share": 0.75,
        "prevented_by_intent": 3, "prevented_by_verdict": 2, "prevented_by_both": 1}
