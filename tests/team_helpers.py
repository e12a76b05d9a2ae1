"""Shared by the expertise team and group-take tests: consults for the wound-care team and the orthopaedic group,
and the team's and group's accounts."""

from __future__ import annotations

from typing import Any

import pyotp
from flask import Flask
from sqlalchemy import select

from tests.conftest import GPSystem, new_request
from triage_service.accounts.registration import create_user
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_USERS
from triage_service.models import Consult, User, UserRole
from triage_service.security.web_auth import InboxUser, inbox_user

CS_FIRST_LINE = "https://fhir.triage-service.nl/CodeSystem/triage-first-line-specialism"
ICPC = "http://hl7.org/fhir/sid/icpc-1-nl"
VEKTIS = "urn:oid:2.16.840.1.113883.2.4.6.7"
VISSER, BAKKER, KRAMER = (next(u for u in DEMO_USERS if u[0] == name)
                          for name in ("dermatoloog", "wondverpleegkundige", "kaderhuisarts-wondzorg"))
TEAM_AGB = "07390001"
ORTHO_GROUP_AGB = "06020002"
#: The orthopaedic group's two specialists (config/agreements/orthopedie.yaml): made in the tests that need them.
DE_BOER = ("orthopeed-deboer", "dr. R. de Boer", "03050001", pyotp.random_base32())
WILLEMS = ("orthopeed-willems", "dr. E. Willems", "03050002", pyotp.random_base32())


def wound_request(consult_request: dict[str, Any], icpc: str = "S97") -> dict[str, Any]:
    """An intercollegial consult about a chronic ulcer for the wound-care team (performerType nurse-specialist)."""
    body = new_request(consult_request)
    body["performerType"] = {"coding": [{"system": CS_FIRST_LINE, "code": "nurse-specialist",
                                         "display": "Verpleegkundig specialist"}]}
    body["reasonCode"] = [{"coding": [{"system": ICPC, "code": icpc, "display": "Chronisch ulcus huid"}],
                           "text": "Ulcus cruris, geneest niet"}]
    body.pop("performer", None)
    return body


def knee_request(consult_request: dict[str, Any]) -> dict[str, Any]:
    """An e-consult about knee complaints for the orthopaedic group queue."""
    body = new_request(consult_request)
    body["performerType"] = {"coding": [{"system": VEKTIS, "code": "0305", "display": "Orthopedie"}]}
    body["reasonCode"] = [{"coding": [{"system": ICPC, "code": "L15", "display": "Symptomen/klachten knie"}],
                           "text": "Knieklachten"}]
    body["code"]["coding"][0].update(code="e-consult", display="E-consult")
    body.pop("performer", None)
    return body


def send(gp: GPSystem, body: dict[str, Any]) -> str:
    response = gp.post("/fhir/ServiceRequest", body)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def user(app: Flask, username: str) -> InboxUser:
    with session_scope(app) as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
        found = inbox_user(session, str(user_id))
        assert found is not None
        return found


def orthopaedists(app: Flask) -> tuple[InboxUser, InboxUser]:
    with session_scope(app) as session:
        for username, name, agb, secret in (DE_BOER, WILLEMS):
            if session.scalar(select(User.id).where(User.username == username)) is None:
                create_user(session, username=username, display_name=name, role=UserRole.SPECIALIST,
                            password=DEMO_PASSWORD, practitioner_agb=agb, totp_secret=secret)
    return user(app, DE_BOER[0]), user(app, WILLEMS[0])


def owner_of(app: Flask, consult_id: str) -> tuple[str | None, str | None, str]:
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None
        return consult.task.owner_kind, consult.task.owner_agb, consult.task.status.value
