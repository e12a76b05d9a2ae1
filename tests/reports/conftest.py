"""Reporting tests build a small, fully known world of consults (submitted, answered, declined,
cancelled at chosen moments) and compare the reports with figures computed by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from tests.conftest import FrozenClock, GPSystem, new_request
from triage_service.accounts.registration import client_assertion, register_client
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.encryption.envelope import generate_client_keypair
from triage_service.models import AccessToken, ApiClient, UsedAssertion, User
from triage_service.security.web_auth import inbox_user

AMS = ZoneInfo("Europe/Amsterdam")
VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
INTENT = "https://fhir.triage-service.nl/StructureDefinition/triage-ext-gp-intent"
ZORGGROEP_AGB = "07300001"


def ams(text: str) -> datetime:
    """A moment written in Dutch time: ``ams("2026-11-03 10:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


@dataclass
class World:
    """Consults of De Linde for dr. Visser (dermatology, S3 tariff 75,00, fee 55,00, referral cost 185,00)."""

    app: Flask
    gp: GPSystem
    clock: FrozenClock
    request: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)

    def submit(self, name: str, at: datetime, icpc: str = "S82", intent: str = "would-refer",
               priority: str = "routine", form: str | None = None) -> str:
        self.clock.now = at
        self.gp._tokens.clear()  # time moved: a fresh token
        body = new_request(self.request, performer=VISSER, authoredOn=at.isoformat(), priority=priority)
        if form:
            body["code"]["coding"][0]["code"] = form
        body["reasonCode"][0]["coding"][0]["code"] = icpc
        for extension in body["extension"]:
            if extension["url"] == INTENT:
                extension["valueCodeableConcept"]["coding"][0]["code"] = intent
        response = self.gp.post("/fhir/ServiceRequest", body)
        assert response.status_code == 201, response.get_json()
        self.ids[name] = response.get_json()["id"]
        return self.ids[name]

    def _specialist(self) -> Any:
        with session_scope(self.app) as session:
            user_id = session.scalar(select(User.id).where(User.username == "dermatoloog"))
            return inbox_user(session, str(user_id))

    def advise(self, name: str, at: datetime, outcome: str = "primary-care-advice", minutes: int | None = None
               ) -> None:
        referral = ("0310", "urgent") if outcome == "referral-indicated" else (None, None)
        with session_scope(self.app) as session:
            advice.record_advice(session, self._specialist(), self.ids[name],
                                 advice.Advice("Advies.", outcome, *referral, minutes=minutes), at)

    def decline(self, name: str, at: datetime) -> None:
        with session_scope(self.app) as session:
            advice.decline(session, self._specialist(), self.ids[name], "Geen consultvraag.", at)

    def cancel(self, name: str, at: datetime) -> None:
        self.clock.now = at
        self.gp._tokens.clear()
        task = self.gp.get(f"/fhir/Task?focus={self.ids[name]}").get_json()["entry"][0]["resource"]
        task["status"] = "cancelled"
        assert self.gp.put(f"/fhir/Task/{task['id']}", task).status_code == 200


@pytest.fixture
def world(app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> World:
    return World(app, gp, clock, consult_request)


@dataclass
class ReportClient:
    """The zorggroep's reporting system: a registered client with the reports scopes."""

    http: FlaskClient
    client_id: str
    key: bytes
    clock: FrozenClock

    def headers(self, scope: str = "reports.read reports.write") -> dict[str, str]:
        assertion = client_assertion(self.client_id, self.key, "http://testserver/oauth/token", self.clock.now,
                                     kid="r1")
        response = self.http.post("/oauth/token", data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion, "scope": scope})
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    def get(self, path: str, scope: str = "reports.read reports.write") -> Any:
        return self.http.get(path, headers=self.headers(scope))

    def post(self, path: str, body: Any, scope: str = "reports.read reports.write") -> Any:
        return self.http.post(path, data=json.dumps(body), headers={**self.headers(scope),
                                                                     "Content-Type": "application/json"})


@pytest.fixture
def reports(app: Flask, client: FlaskClient, clock: FrozenClock) -> Iterator[ReportClient]:
    key, jwks = generate_client_keypair("r1")
    with session_scope(app) as session:
        registered = register_client(session, name="Zorggroep BI", organisation_agb=ZORGGROEP_AGB, jwks=jwks,
                                     scopes=["reports.read", "reports.write"])
        client_id = registered.client_id
    yield ReportClient(client, client_id, key, clock)
    with session_scope(app) as session:
        pk = session.scalar(select(ApiClient.id).where(ApiClient.client_id == client_id))
        session.execute(delete(AccessToken).where(AccessToken.client_pk == pk))
        session.execute(delete(UsedAssertion).where(UsedAssertion.client_pk == pk))
        session.execute(delete(ApiClient).where(ApiClient.id == pk))
