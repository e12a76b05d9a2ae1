"""Back-referral (issue 23, point 2): the cardiologist hands a patient back to De Linde, who takes the care over
or first asks a question; bad input is refused field by field and nothing is stored; only the practice it is
addressed to sees it; every read and change is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import FrozenClock
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import back_referrals
from triage_service.consults.back_referrals import BackReferralForm
from triage_service.database import session_scope
from triage_service.errors import Conflict, FormErrors, NotFound
from triage_service.models import AuditEntry, BackReferral, BackReferralStatus, Organisation, Practitioner

CARDIOLOGIST_AGB = "03200001"
DE_LINDE_AGB = "03012345"
HET_ANKER_AGB = "03067890"


def form(**changes: str) -> BackReferralForm:
    values = {"practice_agb": DE_LINDE_AGB, "patient_bsn": "999911120", "patient_name": "J. de Vries",
              "patient_birth_date": "1948-03-02", "diagnosis_icpc": "K77",
              "diagnosis_text": "Stabiel hartfalen (HFrEF), LVEF 40%",
              "gp_plan": "CVRM: bloeddruk en nierfunctie halfjaarlijks, medicatie ongewijzigd voortzetten",
              "care_programme": "cvrm",
              "rereferral_criteria": "Toename dyspneu NYHA III, gewichtstoename >2 kg/3 dagen",
              "available_for": "Meekijkconsult bij twijfel", "available_until": ""}
    values.update(changes)
    return BackReferralForm(**values)


def cardiologist(session: Session) -> Practitioner:
    return session.scalars(select(Practitioner).where(Practitioner.agb == CARDIOLOGIST_AGB)).one()


def practice_id(session: Session, agb: str) -> str:
    return session.scalars(select(Organisation.id).where(Organisation.agb == agb)).one()


def test_a_cardiologist_hands_a_patient_back_and_the_practice_takes_the_care_over(app: Flask,
                                                                                  clock: FrozenClock) -> None:
    with session_scope(app) as session:
        back = back_referrals.send(session, cardiologist(session), form(), CLI_ACTOR, clock.now)
        back_id = back.id
        assert back.status == BackReferralStatus.PENDING
        assert back.specialism == cardiologist(session).specialism
    clock.now += timedelta(days=2)
    with session_scope(app) as session:
        back = back_referrals.for_practice(session, practice_id(session, DE_LINDE_AGB), back_id, CLI_ACTOR,
                                           clock.now)
        assert back.diagnosis_icpc == "K77" and back.care_programme == "cvrm"
        back_referrals.accept(session, back, "dr. A. Jansen", CLI_ACTOR, clock.now)
    with session_scope(app) as session:
        stored = session.get(BackReferral, back_id)
        assert stored is not None
        back = stored
        assert back.status == BackReferralStatus.ACCEPTED and back.accepted_by_name == "dr. A. Jansen"
        events = session.scalars(select(AuditEntry.event).where(AuditEntry.patient_ref == back.patient_ref)
                                 .order_by(AuditEntry.occurred_at)).all()
        assert list(events) == ["back-referral-sent", "back-referral-read", "back-referral-accepted"]
        with pytest.raises(Conflict):
            back_referrals.accept(session, back, "dr. A. Jansen", CLI_ACTOR, clock.now)


def test_the_practice_asks_a_question_and_takes_the_care_over_once_the_specialist_answered(
        app: Flask, clock: FrozenClock) -> None:
    with session_scope(app) as session:
        back = back_referrals.send(session, cardiologist(session), form(), CLI_ACTOR, clock.now)
        back_referrals.ask(session, back, "dr. A. Jansen", "Mag de bètablokker worden opgehoogd?", CLI_ACTOR,
                           clock.now)
        assert back.status == BackReferralStatus.QUESTIONED
        with pytest.raises(Conflict):
            back_referrals.accept(session, back, "dr. A. Jansen", CLI_ACTOR, clock.now)
        with pytest.raises(FormErrors) as refused:
            back_referrals.answer(session, back, "dr. P. Mulder", "   ", CLI_ACTOR, clock.now)
        assert set(refused.value.errors) == {"answer"}
        back_referrals.answer(session, back, "dr. P. Mulder", "Ja, tot 10 mg bij hartfrequentie >60.", CLI_ACTOR,
                              clock.now)
        assert str(back.status) == "answered"
        back_referrals.accept(session, back, "dr. A. Jansen", CLI_ACTOR, clock.now)
        assert str(back.status) == "accepted"
        assert [m.sender_role for m in back.messages] == ["gp", "specialist"]


def test_every_bad_field_is_named_at_once_and_nothing_is_stored(app: Flask, clock: FrozenClock) -> None:
    with session_scope(app) as session, pytest.raises(FormErrors) as refused:
        back_referrals.send(session, cardiologist(session),
                            form(patient_bsn="123456789", diagnosis_icpc="", diagnosis_text="", practice_agb="99999999",
                                 patient_birth_date="2099-01-01", care_programme="onbekend", gp_plan="",
                                 rereferral_criteria="", available_until="2000-01-01", available_for=""),
                            CLI_ACTOR, clock.now)
    assert set(refused.value.errors) == {"patient_bsn", "diagnosis_icpc", "diagnosis_text", "practice_agb",
                                         "patient_birth_date", "care_programme", "gp_plan", "rereferral_criteria",
                                         "available_until", "available_for"}
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(BackReferral)) == 0


def test_a_code_that_is_not_icpc_is_refused(app: Flask, clock: FrozenClock) -> None:
    with session_scope(app) as session, pytest.raises(FormErrors) as refused:
        back_referrals.send(session, cardiologist(session), form(diagnosis_icpc="I50"), CLI_ACTOR, clock.now)
    assert set(refused.value.errors) == {"diagnosis_icpc"}


def test_another_practice_finds_no_back_referral_addressed_to_de_linde(app: Flask, clock: FrozenClock) -> None:
    with session_scope(app) as session:
        back_id = back_referrals.send(session, cardiologist(session), form(), CLI_ACTOR, clock.now).id
    with session_scope(app) as session, pytest.raises(NotFound):
        back_referrals.for_practice(session, practice_id(session, HET_ANKER_AGB), back_id, CLI_ACTOR, clock.now)


def test_a_question_needs_text(app: Flask, clock: FrozenClock) -> None:
    with session_scope(app) as session:
        back = back_referrals.send(session, cardiologist(session), form(), CLI_ACTOR, clock.now)
        with pytest.raises(FormErrors):
            back_referrals.ask(session, back, "dr. A. Jansen", "", CLI_ACTOR, clock.now)
        assert back.status == BackReferralStatus.PENDING


def test_the_demo_has_a_heart_failure_patient_waiting_for_de_linde(app: Flask, clock: FrozenClock) -> None:
    from triage_service.demo.back_referrals import load_back_referral

    with session_scope(app) as session:
        de_linde = session.scalars(select(Organisation).where(Organisation.agb == DE_LINDE_AGB)).one()
        load_back_referral(session, de_linde)
        load_back_referral(session, de_linde)  # loaded once
    with session_scope(app) as session:
        waiting = session.scalars(select(BackReferral)).all()
        assert [(b.diagnosis_icpc, b.care_programme, b.status) for b in waiting] == [
            ("K77", "cvrm", BackReferralStatus.PENDING)]
        assert waiting[0].specialist.agb == CARDIOLOGIST_AGB
