"""The dashboard's back-referral figures (issue 23, point 2) against counts made by hand.

The world: the cardiologist dr. Mulder hands four patients back to De Linde, two in October and two in
November 2026 (Dutch time); the October ones are both taken over, of November's one waits for the practice and
one waits for the cardiologist's answer to the practice's question. A fifth, sent on 1 December, lies outside a
period that ends on 30 November.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock
from tests.reports.conftest import ZORGGROEP_AGB, ams
from tests.test_back_referral import CARDIOLOGIST_AGB, form
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import back_referrals
from triage_service.database import session_scope
from triage_service.models import Organisation, Practitioner
from triage_service.reports.back_referrals import back_referral_figures, figures_csv


def _world(app: Flask, clock: FrozenClock) -> tuple[str, str]:
    with session_scope(app) as session:
        mulder = session.scalars(select(Practitioner).where(Practitioner.agb == CARDIOLOGIST_AGB)).one()
        moments = ["2026-10-05 09:00", "2026-10-31 23:30", "2026-11-01 00:15", "2026-11-30 16:00",
                   "2026-12-01 08:00"]
        sent = []
        for moment in moments:
            clock.now = ams(moment)
            sent.append(back_referrals.send(session, mulder, form(), CLI_ACTOR, clock.now))
        back_referrals.accept(session, sent[0], "dr. A. Jansen", CLI_ACTOR, clock.now)
        back_referrals.ask(session, sent[1], "dr. A. Jansen", "Welke streefwaarde?", CLI_ACTOR, clock.now)
        back_referrals.answer(session, sent[1], "dr. P. Mulder", "Systolisch < 130.", CLI_ACTOR, clock.now)
        back_referrals.accept(session, sent[1], "dr. A. Jansen", CLI_ACTOR, clock.now)
        back_referrals.ask(session, sent[3], "dr. A. Jansen", "NT-proBNP herhalen?", CLI_ACTOR, clock.now)
        zorggroep = session.scalars(select(Organisation.id).where(Organisation.agb == ZORGGROEP_AGB)).one()
        return zorggroep, mulder.specialism or ""


def test_the_dashboard_counts_back_referrals_per_specialism_and_month_by_where_they_stand(
        app: Flask, clock: FrozenClock) -> None:
    zorggroep, cardiology = _world(app, clock)
    with session_scope(app) as session:
        figures = back_referral_figures(session, zorggroep, ams("2026-10-01 00:00").date(),
                                        ams("2026-11-30 00:00").date())
    # By hand: October 2 taken over; November 1 pending (sent 1 November 00:15 Dutch time, 31 October in UTC),
    # 1 questioned; December's is outside the period.
    assert [(r.month, r.specialism, r.accepted, r.pending, r.questioned) for r in figures.by_month] == [
        ("2026-10", cardiology, 2, 0, 0), ("2026-11", cardiology, 0, 1, 1)]
    assert [(r.specialism, r.accepted, r.pending, r.questioned, r.total) for r in figures.by_specialism] == [
        (cardiology, 2, 1, 1, 4)]
    assert figures_csv(figures).splitlines() == [
        "maand;specialisme;overgenomen;openstaand;vraag_gesteld;totaal",
        f"2026-10;{cardiology};2;0;0;2", f"2026-11;{cardiology};0;1;1;2", "2026-10-01/2026-11-30;totaal;2;1;1;4"]


def test_another_zorggroep_counts_none_of_them(app: Flask, clock: FrozenClock) -> None:
    _world(app, clock)
    with session_scope(app) as session:
        practice = session.scalars(select(Organisation.id).where(Organisation.agb == "03012345")).one()
        figures = back_referral_figures(session, practice, ams("2026-10-01 00:00").date(),
                                        ams("2026-11-30 00:00").date())
    assert figures.by_month == [] and figures.total.total == 0
