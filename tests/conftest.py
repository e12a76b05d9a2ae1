"""Shared fixtures: a real database (SQLite by default, PostgreSQL when
TRIAGE_DATABASE_URL is set), migrated with Alembic once per run, demo data
loaded once, and every test starting from the same state."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, delete, make_url, select, text, update
from werkzeug.serving import BaseWSGIServer, make_server

from triage_service import create_app
from triage_service.accounts.registration import client_assertion
from triage_service.database import session_scope
from triage_service.demo import DemoClient, load_demo
from triage_service.encryption import fields as field_crypto
from triage_service.migrate import upgrade_database
from triage_service.models import (
    Absence,
    AccessToken,
    ApiClient,
    Appointment,
    Attachment,
    AuditEntry,
    BackReferral,
    BackReferralMessage,
    Consult,
    ConsultContextItem,
    ConsultDraft,
    ConsultFact,
    ConsultIdentifier,
    ConsultMessage,
    ConsultTask,
    DeadlineEvent,
    DeclarationBatch,
    DeclarationLine,
    EmailNotice,
    EncryptedBlob,
    GpVerdict,
    MdoEntry,
    Notification,
    OnCallShift,
    Overflow,
    PatientUploadLink,
    PushNotice,
    PushSubscription,
    ReferralFlag,
    RoutingDecision,
    StoredResource,
    Subscription,
    TeamAnswer,
    TextSnippet,
    TimeRegistration,
    UrgentCallout,
    UsedAssertion,
    User,
    WebSession,
)
from triage_service.routing import referral_flags
from triage_service.security import passwords
from triage_service.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
# The demo accounts and every account a test makes get argon2's cheapest hash: each login then costs
# microseconds, not a tenth of a second of both cores (security/passwords.py; test_passwords.py checks the
# service's own strength).
passwords.hash_cheaply_in_this_process()
EXAMPLES = ROOT / "fhir_profiles" / "examples"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
#: The field keys of the session's app (set when it is built).
SESSION_FIELD_KEYS: list[field_crypto.FieldKeys] = []
TRANSACTIONAL_TABLES = [GpVerdict, TimeRegistration, TextSnippet,
                        UrgentCallout, OnCallShift, PushNotice, PushSubscription, PatientUploadLink, ConsultDraft,
                        WebSession, DeclarationLine, DeclarationBatch, Notification,
                        Subscription,
                        EmailNotice,
                        AuditEntry, AccessToken, UsedAssertion, DeadlineEvent, ReferralFlag, RoutingDecision, Absence,
                        Attachment, EncryptedBlob,
                        MdoEntry, TeamAnswer, Overflow, BackReferralMessage, BackReferral,
                        ConsultMessage, ConsultIdentifier, ConsultFact, Appointment, ConsultContextItem, ConsultTask,
                        Consult,
                        StoredResource]


@dataclass
class FrozenClock:
    """The app's clock in tests: time moves only when a test moves it."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    instance = tmp_path_factory.mktemp("instance")
    # The suite asks for many tokens and logins from one address; tests/security/test_rate_limits.py
    # builds an app with the real limits.
    # Conversion figures are counted at every intake: tests complete consults and expect the next figure.
    settings = load_settings(env="test", instance_path=instance, public_base_url="http://testserver",
                             rate_limit_token="100000/minute", rate_limit_login="100000/minute",
                             conversion_rate_cache_seconds=0)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and settings.database_url:
        settings = dataclasses.replace(settings, database_url=_worker_database(settings.sqlalchemy_url, worker))
    return settings


def _worker_database(url: str, worker: str) -> str:
    """A PostgreSQL database of this test process's own (``test_gw0``, ...), made if missing: the suite runs
    spread over processes (pytest-xdist), and each one's tests empty the tables after themselves."""
    base = make_url(url)
    if base.get_backend_name() != "postgresql":
        return url
    own = base.set(database=f"{base.database}_{worker}")
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}) is None:
                conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        engine.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="session")
def app(settings: Settings, clock: FrozenClock) -> Flask:
    app = create_app(settings, clock=clock)
    assert field_crypto._Keys.current is not None
    SESSION_FIELD_KEYS.append(field_crypto._Keys.current)
    engine: Engine = app.extensions["triage.engine"]
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # a clean schema, so the run tests the migrations from scratch
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade_database(engine)
    with session_scope(app) as session:
        app.extensions["test.demo_clients"] = load_demo(session, settings)
    with session_scope(app) as session:
        app.extensions["test.demo_accounts"] = (frozenset(session.scalars(select(User.id))),
                                                frozenset(session.scalars(select(ApiClient.id))))
    _reset(app)  # the demo's own consults are not part of any test's world
    return app


def _reset(app: Flask) -> None:
    users, clients = app.extensions.get("test.demo_accounts", (None, None))
    with session_scope(app) as session:
        for model in TRANSACTIONAL_TABLES:
            session.execute(delete(model))
        # Accounts a test made (a CLI user, a registered GP system) go too, so no test sees another's: the
        # suite's order is not fixed (its files run spread over processes).
        if users is not None:
            session.execute(delete(User).where(User.id.not_in(users)))
            session.execute(delete(ApiClient).where(ApiClient.id.not_in(clients)))
        # Demo accounts stay, but each test logs in afresh: no remembered TOTP step, no lockout.
        session.execute(update(User).values(totp_last_step=None, failed_logins=0, locked_until=None, email=None,
                                            email_on_assignment=False, language="nl"))


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest, clock: FrozenClock) -> Iterator[None]:
    clock.now = START
    if SESSION_FIELD_KEYS:
        # Field keys are per process, and a test that builds an app on a fresh instance folder (test_settings.py)
        # leaves its own configured; the demo users' TOTP secrets stay sealed under the session's keys.
        field_crypto.configure(SESSION_FIELD_KEYS[0])
    # Per process too: a test that builds an app with the default settings (a served or CLI app) leaves the
    # conversion figure cached for 5 minutes, and a later test in the same process would read a stale one.
    referral_flags.configure(0)
    yield
    if "app" in request.fixturenames:
        _reset(request.getfixturevalue("app"))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class GPSystem:
    """A GP system (HIS) as the tests drive it: gets tokens the SMART way, posts FHIR."""

    http: FlaskClient
    demo: DemoClient
    clock: FrozenClock
    token_url: str = "http://testserver/oauth/token"
    #: The API answers in Dutch unless asked otherwise (outcome.api_language); most tests read its English.
    #: None sends no Accept-Language at all, as a GP system that asks for nothing.
    language: str | None = "en"
    _tokens: dict[str, str] = field(default_factory=dict)

    def assertion(self, **overrides: Any) -> str:
        return client_assertion(self.demo.client_id, self.demo.key_file.read_bytes(), self.token_url,
                                self.clock.now, kid=self.demo.kid, **overrides)

    def token(self, scope: str = "system/ServiceRequest.write system/ServiceRequest.read system/Task.read "
                                 "system/Task.write system/Patient.write system/Patient.read "
                                 "system/Organization.write system/PractitionerRole.write "
                                 "system/Coverage.write system/Binary.write system/Binary.read "
                                 "system/DocumentReference.write system/DocumentReference.read "
                                 "system/Communication.write system/Communication.read "
                                 "system/Subscription.write system/Subscription.read "
                                 "system/Appointment.read system/Appointment.write "
                                 "system/QuestionnaireResponse.read system/QuestionnaireResponse.write "
                                 "system/Observation.read system/MedicationStatement.read "
                                 "system/AllergyIntolerance.read") -> str:
        if scope not in self._tokens:
            response = self.http.post("/oauth/token", data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": self.assertion(), "scope": scope})
            assert response.status_code == 200, response.get_json()
            self._tokens[scope] = response.get_json()["access_token"]
        return self._tokens[scope]

    def headers(self, scope: str | None = None, **extra: str) -> dict[str, str]:
        token = self.token(scope) if scope else self.token()
        language = {"Accept-Language": self.language} if self.language else {}
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json", **language, **extra}

    def post(self, path: str, body: Any, **headers: str) -> Any:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return self.http.post(path, data=data, headers={**self.headers(), **headers})

    def get(self, path: str, **headers: str) -> Any:
        return self.http.get(path, headers={**self.headers(), **headers})

    def put(self, path: str, body: Any, **headers: str) -> Any:
        return self.http.put(path, data=json.dumps(body), headers={**self.headers(), **headers})


@pytest.fixture
def gp(app: Flask, client: FlaskClient, clock: FrozenClock) -> GPSystem:
    """The GP system of Huisartsenpraktijk De Linde (AGB 03012345)."""
    return GPSystem(client, app.extensions["test.demo_clients"][0], clock)


@pytest.fixture
def other_gp(app: Flask, clock: FrozenClock) -> GPSystem:
    """The GP system of another practice (Gezondheidscentrum Het Anker)."""
    return GPSystem(app.test_client(), app.extensions["test.demo_clients"][1], clock)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def new_request(request: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of a consult request with its own HIS identifier, as a GP system sends each new consult."""
    body = copy.deepcopy(request)
    body["identifier"][0]["value"] = f"HIS-{uuid.uuid4()}"
    body.update(changes)
    return body


@pytest.fixture
def without_backup(app: Flask) -> Iterator[None]:
    """MKC-DERM without its backup organisation (achtervang) for one test, so an untaken routine consult is
    escalated among the agreement's own specialists instead of overflowing at half its norm (issue 23)."""
    from triage_service.models import Agreement

    with session_scope(app) as session:
        agreement = session.scalars(select(Agreement).where(Agreement.code == "MKC-DERM")).one()
        backup, agreement.backup = agreement.backup, {}
    yield
    with session_scope(app) as session:
        session.scalars(select(Agreement).where(Agreement.code == "MKC-DERM")).one().backup = backup


@pytest.fixture
def consult_request() -> dict[str, Any]:
    """A valid dermatology e-consult with contained Patient, GP, practice and Coverage."""
    return example("ServiceRequest-example-dermatology-contained.json")


@pytest.fixture
def transaction_bundle() -> dict[str, Any]:
    return example("Bundle-example-transaction.json")


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real loopback port, for tests that use a real HTTP client library."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
