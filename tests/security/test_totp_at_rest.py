"""TOTP secrets are sealed at rest like the other secrets: read access to the database (a backup, a replica,
an SQL injection elsewhere) does not give away anyone's second factor."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import create_engine, select, text

from tests.conftest import FrozenClock
from tests.web.test_inbox import VISSER, log_in
from triage_service import cli
from triage_service.accounts.registration import create_user
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF, DEMO_USERS
from triage_service.encryption.fields import PREFIX
from triage_service.migrate import downgrade_database, upgrade_database
from triage_service.models import User, UserRole


def _raw_secret(app: Flask, username: str) -> str:
    # Raw SQL: through the model the column would be opened for us.
    with app.extensions["triage.engine"].connect() as conn:
        return str(conn.execute(text("SELECT totp_secret FROM users WHERE username = :u"), {"u": username}).scalar())


def test_a_totp_secret_is_sealed_in_the_database_and_login_still_works(app: Flask, clock: FrozenClock) -> None:
    assert log_in(app.test_client(), clock).status_code == 302
    raw = _raw_secret(app, VISSER[0])
    assert raw.startswith(PREFIX) and VISSER[3] not in raw
    with app.extensions["triage.engine"].connect() as conn:
        stored = " ".join(str(value) for row in conn.exec_driver_sql("SELECT * FROM users") for value in row)
    for user in [*DEMO_USERS, DEMO_STAFF]:
        assert user[3] not in stored and user[3].lower() not in stored


def test_a_new_account_and_a_new_second_factor_are_sealed(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    username, secret = f"spec-{uuid.uuid4().hex[:8]}", pyotp.random_base32()
    with session_scope(app) as session:
        create_user(session, username=username, display_name="dr. S", role=UserRole.SPECIALIST,
                    password=DEMO_PASSWORD, practitioner_agb="03100002", totp_secret=secret)
    assert _raw_secret(app, username).startswith(PREFIX) and secret not in _raw_secret(app, username)
    monkeypatch.setattr(cli, "_app", lambda: app)
    assert CliRunner().invoke(cli.main, ["user", "reset-totp", "--username", username]).exit_code == 0
    with session_scope(app) as session:
        new_secret = session.scalar(select(User.totp_secret).where(User.username == username))
    assert new_secret and new_secret not in _raw_secret(app, username) and _raw_secret(app, username).startswith(PREFIX)


def test_a_plaintext_secret_of_an_older_release_still_logs_in_and_encrypt_existing_seals_it(
        app: Flask, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    username, secret = f"spec-{uuid.uuid4().hex[:8]}", pyotp.random_base32()
    with session_scope(app) as session:
        create_user(session, username=username, display_name="dr. O", role=UserRole.SPECIALIST,
                    password=DEMO_PASSWORD, practitioner_agb="03100002", totp_secret=secret)
    with app.extensions["triage.engine"].begin() as conn:  # as an older release stored it
        conn.execute(text("UPDATE users SET totp_secret = :s WHERE username = :u"), {"s": secret, "u": username})
    assert _raw_secret(app, username) == secret
    assert log_in(app.test_client(), clock, username, DEMO_PASSWORD, secret).status_code == 302

    monkeypatch.setattr(cli, "_app", lambda: app)
    result = CliRunner().invoke(cli.main, ["encrypt-existing"])
    assert result.exit_code == 0, result.output
    assert "users" in result.output

    raw = _raw_secret(app, username)
    assert raw.startswith(PREFIX) and secret not in raw
    clock.advance(seconds=30)  # the next code: each is accepted once
    assert log_in(app.test_client(), clock, username, DEMO_PASSWORD, secret).status_code == 302


def test_the_migration_keeps_plaintext_secrets_readable_and_its_downgrade_opens_sealed_ones(
        app: Flask, tmp_path: Path) -> None:
    """Upgrading only widens the column (encrypt-existing seals the rows); a downgrade gives an older
    release the plaintext it can read."""
    engine = create_engine(f"sqlite:///{tmp_path}/totp.sqlite3")
    upgrade_database(engine, "0023")
    secret = pyotp.random_base32()
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (id, username, display_name, role, password_hash, totp_secret, language, "
            "email_on_assignment, failed_logins, created_at) VALUES ('u1', 'old', 'dr. Old', 'specialist', 'x', "
            ":s, 'nl', 0, 0, '2026-11-20 09:00:00')"), {"s": secret})
    upgrade_database(engine)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT totp_secret FROM users")).scalar() == secret
        from triage_service.encryption.fields import seal

        conn.execute(text("UPDATE users SET totp_secret = :s"), {"s": seal(secret, "users.totp_secret")})
    downgrade_database(engine, "0023")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT totp_secret FROM users")).scalar() == secret
