"""A small hospital of the tests' own for the rota tests: three cardiologists and a dermatologist, and a rota
maker's account, so that nothing here touches the demo's rota (routing's tests read that one)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pyotp
import pytest
from flask import Flask
from sqlalchemy import delete, select

from triage_service.accounts.registration import create_user
from triage_service.agreements.rota import local
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD
from triage_service.models import (
    OnCallShift,
    Organisation,
    OrganisationKind,
    Practitioner,
    PractitionerRoleKind,
    User,
    UserRole,
)
from triage_service.routing.working_time import AMSTERDAM

HOSPITAL_AGB = "06990001"
CARDIOLOGY = "0320"
#: (AGB, name, specialism) of the hospital's specialists.
SPECIALISTS = [("03990001", "dr. A. Aalbers", CARDIOLOGY), ("03990002", "dr. B. Bos", CARDIOLOGY),
               ("03990003", "dr. C. Claes", CARDIOLOGY), ("03990004", "dr. D. Dekker", "0310")]
AALBERS, BOS, CLAES, DEKKER = (agb for agb, _, _ in SPECIALISTS)
#: A cardiologist of the demo's hospital: a specialist, but not of this organisation.
MULDER = "03200001"


def ams(text: str) -> datetime:
    """A moment written in Dutch time: ``ams("2026-11-23 08:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=AMSTERDAM)


@dataclass(frozen=True)
class Hospital:
    organisation_id: str
    #: (username, TOTP secret) of the rota maker and of one of the cardiologists.
    rota_maker: tuple[str, str]
    cardiologist: tuple[str, str]


@pytest.fixture
def hospital(app: Flask) -> Iterator[Hospital]:
    maker, specialist = pyotp.random_base32(), pyotp.random_base32()
    with session_scope(app) as session:
        organisation = Organisation(kind=OrganisationKind.SPECIALIST_ORGANISATION, name="Testziekenhuis Oost",
                                    agb=HOSPITAL_AGB)
        session.add(organisation)
        session.flush()
        for agb, name, specialism in SPECIALISTS:
            session.add(Practitioner(agb=agb, name=name, role=PractitionerRoleKind.SPECIALIST, specialism=specialism,
                                     organisation_id=organisation.id))
        session.flush()
        create_user(session, username="rota-test-maker", display_name="J. Roosters", role=UserRole.ROTA_MAKER,
                    password=DEMO_PASSWORD, organisation_agb=HOSPITAL_AGB, totp_secret=maker)
        create_user(session, username="rota-test-aalbers", display_name="dr. A. Aalbers", role=UserRole.SPECIALIST,
                    password=DEMO_PASSWORD, practitioner_agb=AALBERS, totp_secret=specialist)
        organisation_id = organisation.id
    yield Hospital(organisation_id, ("rota-test-maker", maker), ("rota-test-aalbers", specialist))
    with session_scope(app) as session:
        session.execute(delete(OnCallShift).where(OnCallShift.organisation_id == organisation_id))
        session.execute(delete(User).where(User.username.in_(["rota-test-maker", "rota-test-aalbers"])))
        session.execute(delete(Practitioner).where(Practitioner.organisation_id == organisation_id))
        session.execute(delete(Organisation).where(Organisation.id == organisation_id))


def rota_of(app: Flask, hospital: Hospital, specialism: str = CARDIOLOGY) -> list[tuple[str, str, str, str]]:
    """The hospital's rota as (start, end, on call, backup), in Dutch time, as a rota maker reads it."""
    with session_scope(app) as session:
        shifts = session.scalars(select(OnCallShift).where(
            OnCallShift.organisation_id == hospital.organisation_id, OnCallShift.specialism == specialism)
            .order_by(OnCallShift.starts_at))
        return [(local(s.starts_at), local(s.ends_at), s.practitioner.agb, s.backup.agb) for s in shifts]
