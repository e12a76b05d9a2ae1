"""The demo's passwords and TOTP secrets are published in the README: production never loads the demo, and
its accounts (or anyone using the published credentials) cannot log in there, even if they are in the
database."""

from __future__ import annotations

import dataclasses
import uuid

import pyotp
import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import FrozenClock
from tests.web.test_inbox import log_in
from triage_service import cli
from triage_service.accounts.registration import create_user
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF, DEMO_USERS
from triage_service.models import ApiClient, AuditEntry, UserRole
from triage_service.settings import Settings

OWN_PASSWORD = "een-eigen-wachtwoord-2026"


@pytest.fixture
def production(app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The test app, told that it runs in production (the settings every request and command reads)."""
    monkeypatch.setitem(app.extensions, "triage.settings", dataclasses.replace(settings, env="production"))
    monkeypatch.setattr(cli, "_app", lambda: app)
    return app


def _refusals(app: Flask) -> int:
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.event == "web.login.demo-account")) or 0)


def test_load_demo_is_refused_in_production_with_a_clear_message(production: Flask) -> None:
    with session_scope(production) as session:
        clients_before = session.scalar(select(func.count()).select_from(ApiClient))
    result = CliRunner().invoke(cli.main, ["load-demo"])
    assert result.exit_code == 2
    assert "production" in result.output and "published" in result.output
    with session_scope(production) as session:
        assert session.scalar(select(func.count()).select_from(ApiClient)) == clients_before


@pytest.mark.parametrize("demo", [*DEMO_USERS, DEMO_STAFF], ids=lambda demo: demo[0])
def test_a_demo_account_cannot_log_in_in_production(production: Flask, clock: FrozenClock,
                                                    demo: tuple[str, str, str, str]) -> None:
    response = log_in(production.test_client(), clock, demo[0], DEMO_PASSWORD, demo[3])
    assert response.status_code == 401
    assert "De gebruikersnaam, het wachtwoord of de code klopt niet." in response.get_data(as_text=True)
    assert _refusals(production) == 1


def test_the_published_password_or_secret_does_not_log_in_another_account_in_production(
        production: Flask, clock: FrozenClock) -> None:
    """An operator who created a real account with the README's password or TOTP secret gets it refused too."""
    name = f"spec-{uuid.uuid4().hex[:8]}"
    with session_scope(production) as session:
        create_user(session, username=f"{name}-pw", display_name="dr. A", role=UserRole.SPECIALIST,
                    password=DEMO_PASSWORD, practitioner_agb="03100002", totp_secret=pyotp.random_base32())
        create_user(session, username=f"{name}-totp", display_name="dr. B", role=UserRole.SPECIALIST,
                    password=OWN_PASSWORD, practitioner_agb="03100002", totp_secret=DEMO_USERS[1][3])
    assert log_in(production.test_client(), clock, f"{name}-pw", DEMO_PASSWORD).status_code == 401
    assert log_in(production.test_client(), clock, f"{name}-totp", OWN_PASSWORD,
                  DEMO_USERS[1][3]).status_code == 401
    assert _refusals(production) == 2


def test_an_ordinary_account_logs_in_in_production(production: Flask, clock: FrozenClock) -> None:
    name, secret = f"spec-{uuid.uuid4().hex[:8]}", pyotp.random_base32()
    with session_scope(production) as session:
        create_user(session, username=name, display_name="dr. C", role=UserRole.SPECIALIST, password=OWN_PASSWORD,
                    practitioner_agb="03100002", totp_secret=secret)
    assert log_in(production.test_client(), clock, name, OWN_PASSWORD, secret).status_code == 302


def test_the_demo_accounts_log_in_outside_production(app: Flask, clock: FrozenClock) -> None:
    assert log_in(app.test_client(), clock).status_code == 302
