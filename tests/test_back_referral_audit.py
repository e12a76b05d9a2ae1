"""The information-security officer's look-up by BSN (NEN 7513) finds a back-referral's audit entries: the
back-referral holds its patient's BSN sealed and, beside it, as a blind index (``patient_token``); existing rows
get their token from migration 0040, and a new blind-index key hashes them again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text

from tests.conftest import FrozenClock
from tests.test_back_referral import DE_LINDE_AGB, cardiologist, form, practice_id
from triage_service.audit.queries import patient_history, patient_refs
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import back_referrals
from triage_service.database import session_scope
from triage_service.encryption import fields as field_crypto
from triage_service.encryption.fields import PREFIX, blind_index, seal
from triage_service.fhir import dutch
from triage_service.migrate import upgrade_database
from triage_service.records import sealing

BSN = "999911120"  # the back-referred patient (tests/test_back_referral.py)
OTHER_BSN = "999990019"


def _sent_and_read(app: Flask, clock: FrozenClock) -> str:
    with session_scope(app) as session:
        back_id = back_referrals.send(session, cardiologist(session), form(), CLI_ACTOR, clock.now).id
    clock.now += timedelta(hours=1)
    with session_scope(app) as session:
        back_referrals.for_practice(session, practice_id(session, DE_LINDE_AGB), back_id, CLI_ACTOR, clock.now)
    return back_id


def test_a_back_referral_sent_and_read_is_in_the_patients_history_by_bsn(app: Flask, clock: FrozenClock) -> None:
    back_id = _sent_and_read(app, clock)

    with session_scope(app) as session:
        assert back_id in patient_refs(session, BSN)
        history = [(e.event, e.patient_ref) for e in patient_history(session, BSN)]

    assert history == [("back-referral-sent", back_id), ("back-referral-read", back_id)]


def test_another_patients_bsn_finds_none_of_it(app: Flask, clock: FrozenClock) -> None:
    _sent_and_read(app, clock)

    with session_scope(app) as session:
        assert patient_refs(session, OTHER_BSN) == []
        assert patient_history(session, OTHER_BSN) == []


def test_the_token_is_the_bsns_blind_index_and_the_bsn_stays_sealed(app: Flask, clock: FrozenClock) -> None:
    back_id = _sent_and_read(app, clock)

    with app.extensions["triage.engine"].connect() as conn:
        bsn, token = conn.execute(text("SELECT patient_bsn, patient_token FROM back_referrals WHERE id = :id"),
                                  {"id": back_id}).one()

    assert bsn.startswith(PREFIX) and BSN not in token
    assert token == blind_index(dutch.BSN, BSN)


def test_a_new_blind_index_key_hashes_the_back_referrals_token_again(app: Flask, clock: FrozenClock) -> None:
    back_id = _sent_and_read(app, clock)
    original = field_crypto._Keys.current
    assert original is not None
    try:
        field_crypto.configure(original.with_new_index_key())
        with session_scope(app) as session:
            assert patient_refs(session, BSN) == []  # the stored token is the old key's
            sealing.encrypt_existing(session)
        with session_scope(app) as session:
            assert patient_refs(session, BSN) == [back_id]
    finally:
        field_crypto.configure(original)
        with session_scope(app) as session:
            sealing.encrypt_existing(session)  # the session's key again, for the tests after this one


def test_migration_0040_fills_the_token_of_back_referrals_sent_before_it(app: Flask, tmp_path: Path) -> None:
    """The app fixture has configured the field keys, as ``init-db`` does before it migrates."""
    engine = create_engine(f"sqlite:///{tmp_path}/existing.sqlite3")
    upgrade_database(engine, "0039")
    now = "2026-11-20 09:00:00"
    with engine.begin() as conn:  # plain SQLite connection: foreign keys are not enforced here
        for back_id, bsn in (("b1", seal(BSN, "back_referrals.patient_bsn")), ("b2", OTHER_BSN)):
            conn.execute(text(
                "INSERT INTO back_referrals (id, task_id, practice_id, specialist_id, specialism, status, "
                "patient_bsn, patient_name, patient_birth_date, diagnosis_icpc, diagnosis_text, gp_plan, "
                "rereferral_criteria, sent_at, updated_at, version_id) VALUES (:id, :task, 'o1', 'p1', '0320', "
                "'pending', :bsn, 'x', '1948-03-02', 'K77', 'x', 'x', 'x', :now, :now, 1)"),
                {"id": back_id, "task": f"t-{back_id}", "bsn": bsn, "now": now})

    upgrade_database(engine)

    with engine.connect() as conn:
        tokens = dict(conn.execute(text("SELECT id, patient_token FROM back_referrals")).all())
    # b2 was written before field encryption: its plain BSN is hashed as it is.
    assert tokens == {"b1": blind_index(dutch.BSN, BSN), "b2": blind_index(dutch.BSN, OTHER_BSN)}

