"""The demo's rota works on any day: a fortnight of day shifts from 08:00, the agreement's specialists taking
turns with the next one as backup, for every agreement that admits out-of-hours posts."""

from __future__ import annotations

from datetime import date

from flask import Flask

from tests.rota.conftest import AALBERS, BOS, CLAES, DEKKER, Hospital, ams, rota_of
from triage_service.database import session_scope
from triage_service.demo import demo_rota
from triage_service.models import Agreement, PatientProfile


def agreement(hospital: Hospital, posts: list[str], specialist_agbs: list[str]) -> Agreement:
    """A small agreement of the test's own hospital, never stored: the rota reads only what it says."""
    return Agreement(code="TEST-HAP", subcontractor_id=hospital.organisation_id, out_of_hours_posts=posts,
                     specialist_agbs=specialist_agbs, valid_from=date(2026, 1, 1),
                     profiles=[PatientProfile(specialism="0320"), PatientProfile(specialism="0320"),
                               PatientProfile(specialism="0310")])


def test_the_demo_rota_starts_at_todays_eight_oclock_and_takes_turns(app: Flask, hospital: Hospital) -> None:
    with session_scope(app) as session:
        demo_rota(session, [agreement(hospital, ["04010001"], [AALBERS, BOS, CLAES, DEKKER])],
                  ams("2026-11-23 10:15"), days=4)
    assert rota_of(app, hospital) == [("2026-11-23 08:00", "2026-11-24 08:00", AALBERS, BOS),
                                      ("2026-11-24 08:00", "2026-11-25 08:00", BOS, CLAES),
                                      ("2026-11-25 08:00", "2026-11-26 08:00", CLAES, AALBERS),
                                      ("2026-11-26 08:00", "2026-11-27 08:00", AALBERS, BOS)]
    # Dermatology has one specialist in this agreement: a shift needs a backup who is someone else.
    assert rota_of(app, hospital, "0310") == []


def test_before_eight_the_demo_rota_starts_yesterday_so_someone_is_on_call_at_once(app: Flask,
                                                                                  hospital: Hospital) -> None:
    with session_scope(app) as session:
        demo_rota(session, [agreement(hospital, ["04010001"], [AALBERS, BOS])], ams("2026-11-23 07:59"))
    shifts = rota_of(app, hospital)
    assert len(shifts) == 14
    assert shifts[0] == ("2026-11-22 08:00", "2026-11-23 08:00", AALBERS, BOS)
    assert shifts[-1][1] == "2026-12-06 08:00"


def test_shifts_change_over_at_eight_also_across_the_change_to_winter_time(app: Flask, hospital: Hospital) -> None:
    with session_scope(app) as session:
        demo_rota(session, [agreement(hospital, ["04010001"], [AALBERS, BOS])], ams("2026-10-24 12:00"), days=2)
        # Loading the demo again the same day changes nothing.
        demo_rota(session, [agreement(hospital, ["04010001"], [AALBERS, BOS])], ams("2026-10-24 18:00"), days=2)
    assert rota_of(app, hospital) == [("2026-10-24 08:00", "2026-10-25 08:00", AALBERS, BOS),
                                      ("2026-10-25 08:00", "2026-10-26 08:00", BOS, AALBERS)]


def test_an_agreement_without_out_of_hours_posts_gets_no_rota(app: Flask, hospital: Hospital) -> None:
    with session_scope(app) as session:
        demo_rota(session, [agreement(hospital, [], [AALBERS, BOS])], ams("2026-11-23 10:00"))
    assert rota_of(app, hospital) == []


def test_a_rota_changed_since_is_kept_when_the_demo_would_cut_into_it(app: Flask, hospital: Hospital) -> None:
    from triage_service.agreements.rota import import_rota
    from triage_service.agreements.rota_files import read_rota_file
    from triage_service.audit.trail import CLI_ACTOR

    with session_scope(app) as session:
        import_rota(session, CLI_ACTOR, read_rota_file("r.csv", f"begin;einde;dienst;achterwacht\n2026-11-23 "
                                                                 f"20:00;2026-11-24 20:00;{CLAES};{BOS}".encode()),
                    organisation_id=hospital.organisation_id, specialism="0320")
        demo_rota(session, [agreement(hospital, ["04010001"], [AALBERS, BOS])], ams("2026-11-23 10:00"), days=1)
    assert rota_of(app, hospital) == [("2026-11-23 20:00", "2026-11-24 20:00", CLAES, BOS)]


def test_the_demo_has_a_cardiology_and_a_dermatology_rota_and_a_rota_maker(app: Flask,
                                                                          monkeypatch: object) -> None:
    from click.testing import CliRunner
    from sqlalchemy import select

    from triage_service import cli
    from triage_service.agreements.rota import local, shifts_between
    from triage_service.models import Organisation, User, UserRole

    monkeypatch.setattr(cli, "_app", lambda: app)  # type: ignore[attr-defined]
    assert CliRunner().invoke(cli.main, ["load-demo"]).exit_code == 0
    with session_scope(app) as session:
        hospital = session.scalars(select(Organisation.id).where(Organisation.agb == "06010001")).one()
        cardiology = shifts_between(session, hospital, "0320", ams("2026-11-23 08:00"), ams("2026-12-07 08:00"))
        dermatology = shifts_between(session, hospital, "0310", ams("2026-11-23 08:00"), ams("2026-12-07 08:00"))
        assert len(cardiology) == 14 and len(dermatology) == 14
        assert local(cardiology[0].starts_at) == "2026-11-23 08:00"  # the tests' clock: Monday 10:00
        assert {s.practitioner.agb for s in cardiology} == {"03200001", "03200002"}
        assert all(s.backup_practitioner_id != s.practitioner_id for s in [*cardiology, *dermatology])
        maker = session.scalars(select(User).where(User.username == "roostermaker")).one()
        assert maker.role is UserRole.ROTA_MAKER and maker.organisation_id == hospital
