"""Inbox sessions end on the server: after logout, or a new password or second factor, a copy of the session
cookie (from a shared computer, a proxy log, malware) opens nothing, on any worker or instance."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock
from tests.web.test_inbox import VISSER, csrf, log_in
from triage_service import cli, create_app
from triage_service.accounts.registration import create_user
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD
from triage_service.errors import ConfigurationError
from triage_service.models import AuditEntry, User, UserRole, WebSession
from triage_service.settings import Settings, load_settings

COOKIE = "triage_session"


class Thief:
    """A second browser holding a copy of a logged-in browser's session cookie, and a CSRF token of it."""

    def __init__(self, browser: FlaskClient, app: Flask):
        cookie = browser.get_cookie(COOKIE)
        assert cookie is not None
        self.http = app.test_client()
        self.http.set_cookie(COOKIE, cookie.value)
        self.token = csrf(self.http.get("/settings"))  # the copy works while the session lasts

    def assert_refused(self) -> None:
        page = self.http.get("/inbox")
        assert page.status_code == 302 and page.headers["Location"].endswith("/login")
        # A form post with the copied cookie and a valid CSRF token of that session is refused as well.
        assert self.http.post("/settings", data={"language": "en", "csrf_token": self.token}).status_code == 401


@pytest.fixture
def account(app: Flask) -> tuple[str, str]:
    """A specialist of their own, so changing their password or second factor leaves the demo users alone."""
    username, secret = f"spec-{uuid.uuid4().hex[:8]}", pyotp.random_base32()
    with session_scope(app) as session:
        create_user(session, username=username, display_name="dr. T. Test", role=UserRole.SPECIALIST,
                    password=DEMO_PASSWORD, practitioner_agb="03100002", totp_secret=secret)
    return username, secret


@pytest.fixture
def runner(app: Flask, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(cli, "_app", lambda: app)
    return CliRunner()


def test_a_copied_session_cookie_opens_nothing_after_logout(app: Flask, browser: FlaskClient,
                                                           clock: FrozenClock) -> None:
    assert log_in(browser, clock).status_code == 302
    thief = Thief(browser, app)
    assert thief.http.get("/inbox").status_code == 200  # a copy works while the session lasts (it is a cookie)

    logout = browser.post("/logout", data={"csrf_token": csrf(browser.get("/inbox"))})
    assert logout.status_code == 302

    thief.assert_refused()
    with session_scope(app) as session:
        refused = session.scalars(select(AuditEntry).where(AuditEntry.event == "web.session.refused")).all()
        assert refused and refused[0].actor_id == VISSER[0] and refused[0].detail == "ended=logout"


def test_the_cookie_holds_a_random_session_id_and_no_user(app: Flask, browser: FlaskClient,
                                                         clock: FrozenClock) -> None:
    log_in(browser, clock)
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None
    contents = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # type: ignore[attr-defined]
    assert "user_id" not in contents and len(contents["sid"]) >= 40
    with session_scope(app) as session:
        record = session.scalars(select(WebSession)).one()
        # Only a hash of the id is stored: read access to the database gives no usable cookie.
        assert record.token_hash != contents["sid"] and contents["sid"] not in record.token_hash
        assert record.ended_at is None


def test_logging_out_ends_only_that_session(app: Flask, clock: FrozenClock) -> None:
    desk, laptop = app.test_client(), app.test_client()
    log_in(desk, clock)
    clock.advance(seconds=30)  # a TOTP code is accepted once: the second login uses the next one
    log_in(laptop, clock)
    desk.post("/logout", data={"csrf_token": csrf(desk.get("/inbox"))})
    assert desk.get("/inbox").status_code == 302
    assert laptop.get("/inbox").status_code == 200


def test_a_copied_session_cookie_opens_nothing_after_a_password_change(
        app: Flask, runner: CliRunner, clock: FrozenClock, account: tuple[str, str]) -> None:
    username, secret = account
    browser = app.test_client()
    assert log_in(browser, clock, username, DEMO_PASSWORD, secret).status_code == 302
    thief = Thief(browser, app)

    new_password = "een-nieuw-wachtwoord-2027"
    result = runner.invoke(cli.main, ["user", "set-password", "--username", username],
                           input=f"{new_password}\n{new_password}\n")
    assert result.exit_code == 0, result.output

    thief.assert_refused()
    assert browser.get("/inbox").status_code == 302  # the owner's own browser logs in again too
    clock.advance(seconds=30)
    assert log_in(app.test_client(), clock, username, DEMO_PASSWORD, secret).status_code == 401
    assert log_in(app.test_client(), clock, username, new_password, secret).status_code == 302
    with session_scope(app) as session:
        events = session.scalars(select(AuditEntry.event).where(AuditEntry.resource_id == username)).all()
        assert "user.password" in events


def test_a_copied_session_cookie_opens_nothing_after_the_second_factor_is_reset(
        app: Flask, runner: CliRunner, clock: FrozenClock, account: tuple[str, str]) -> None:
    username, secret = account
    browser = app.test_client()
    assert log_in(browser, clock, username, DEMO_PASSWORD, secret).status_code == 302
    thief = Thief(browser, app)

    result = runner.invoke(cli.main, ["user", "reset-totp", "--username", username])
    assert result.exit_code == 0, result.output
    assert "otpauth://totp/" in result.output and secret not in result.output

    thief.assert_refused()
    with session_scope(app) as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None and user.totp_secret != secret
        new_secret = user.totp_secret
    clock.advance(seconds=30)
    assert log_in(app.test_client(), clock, username, DEMO_PASSWORD, secret).status_code == 401
    clock.advance(seconds=30)
    assert log_in(app.test_client(), clock, username, DEMO_PASSWORD, new_secret).status_code == 302


def test_changing_the_credentials_of_an_unknown_user_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["user", "reset-totp", "--username", "nobody-here"])
    assert result.exit_code == 2 and "No user named nobody-here" in result.output


def test_a_session_ended_on_one_instance_is_refused_by_another(app: Flask, settings: Settings,
                                                              clock: FrozenClock) -> None:
    """Two app instances on one database (as gunicorn workers or machines behind a load balancer)."""
    other = create_app(settings, clock=clock)
    browser = app.test_client()
    log_in(browser, clock)
    elsewhere = Thief(browser, other)
    assert elsewhere.http.get("/inbox").status_code == 200
    browser.post("/logout", data={"csrf_token": csrf(browser.get("/inbox"))})
    elsewhere.assert_refused()


def test_an_idle_session_is_ended_on_the_server_too(app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    log_in(browser, clock)
    thief = Thief(browser, app)
    clock.advance(minutes=31)
    assert browser.get("/inbox").status_code == 302
    clock.advance(seconds=1)
    thief.assert_refused()
    with session_scope(app) as session:
        assert session.scalars(select(WebSession.end_reason)).all() == ["idle"]


def test_a_session_in_use_all_day_ends_twelve_hours_after_its_login(app: Flask, browser: FlaskClient,
                                                                     clock: FrozenClock) -> None:
    log_in(browser, clock)
    thief = Thief(browser, app)
    for _ in range(35):  # a page every 20 minutes: never idle, 11 h 40 min after the login
        clock.advance(minutes=20)
        assert browser.get("/inbox").status_code == 200
    clock.advance(minutes=21)
    page = browser.get("/inbox")
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")
    thief.assert_refused()
    with session_scope(app) as session:
        assert session.scalars(select(WebSession.end_reason)).all() == ["lifetime"]
        refused = session.scalars(select(AuditEntry.detail).where(AuditEntry.event == "web.session.refused")).all()
    assert "ended=lifetime" in refused


@pytest.mark.parametrize(("idle", "hours"), [("0", "12"), ("30", "0"), ("90", "1")])
def test_a_session_idle_limit_or_lifetime_that_cannot_work_is_refused_at_start(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, idle: str, hours: str) -> None:
    monkeypatch.setenv("TRIAGE_SESSION_IDLE_MINUTES", idle)
    monkeypatch.setenv("TRIAGE_SESSION_MAX_HOURS", hours)
    with pytest.raises(ConfigurationError, match=r"TRIAGE_SESSION_(IDLE_MINUTES|MAX_HOURS) must be"):
        load_settings(instance_path=tmp_path)


@pytest.fixture
def browser(app: Flask) -> FlaskClient:
    return app.test_client()
