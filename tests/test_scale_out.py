"""Scale-out: two gunicorn instances and two background workers on one PostgreSQL database.

Real processes on loopback ports, as a deployment behind a load balancer would run them: a specialist's
session works on either instance (no sticky sessions: the session is a signed cookie, the rest is in the
database), a GP system's token works on either, and two workers delivering webhook notifications side by
side deliver each exactly once (they claim work with SELECT ... FOR UPDATE SKIP LOCKED).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import new_request
from tests.test_notifications import Receiver, subscription
from triage_service.accounts.registration import client_assertion
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_USERS
from triage_service.models import Notification

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
CONSULTS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Deployment:
    """Two service instances and two workers, started as a deployment would start them."""

    def __init__(self, app: Flask, tmp: Path):
        settings = app.extensions["triage.settings"]
        # The same instance folder: the same keys and secret key on both, as a deployment shares them.
        self.env = {**os.environ, "TRIAGE_ENV": "test", "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
                    "TRIAGE_DATABASE_URL": settings.database_url, "TRIAGE_PUBLIC_BASE_URL": "http://testserver",
                    "TRIAGE_RATE_LIMIT_TOKEN": "100000/minute", "TRIAGE_RATE_LIMIT_LOGIN": "100000/minute",
                    "TRIAGE_WORKERS": "1"}
        self.tmp = tmp
        self.ports = [_free_port(), _free_port()]
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        command = [sys.executable, "-m", "triage_service.cli"]
        for index, port in enumerate(self.ports):
            self._spawn([*command, "serve", "--host", "127.0.0.1", "--port", str(port)], f"server{index}")
        for index in range(2):
            self._spawn([*command, "worker", "--interval", "1", "--notify-interval", "1"], f"worker{index}")
        for port in self.ports:
            self._wait_for(port)

    def _spawn(self, command: list[str], name: str) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        self.processes.append(subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True))

    def _wait_for(self, port: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or its worker still starting (a cold CI start)
                pass
            time.sleep(0.3)
        raise AssertionError(f"the instance on port {port} did not start: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in self.tmp.glob("*.log"))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"


@pytest.fixture
def deployment(app: Flask, tmp_path: Path) -> Iterator[Deployment]:
    if app.extensions["triage.engine"].dialect.name != "postgresql":
        pytest.skip("scale-out runs on PostgreSQL (SQLite has one writer at a time); scripts/test runs it there")
    running = Deployment(app, tmp_path)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _token(app: Flask, base: str) -> str:
    """A GP system's token, asked for with a client assertion signed now (the servers keep real time)."""
    demo = app.extensions["test.demo_clients"][0]
    assertion = client_assertion(demo.client_id, demo.key_file.read_bytes(), "http://testserver/oauth/token",
                                 datetime.now(UTC), kid=demo.kid)
    response = requests.post(f"{base}/oauth/token", timeout=10, data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "scope": "system/ServiceRequest.write system/Task.read system/Subscription.write"})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_a_session_and_a_token_work_on_either_instance(app: Flask, deployment: Deployment) -> None:
    browser = requests.Session()
    login = browser.get(f"{deployment.url(0)}/login", timeout=10)
    browser.post(f"{deployment.url(0)}/login", timeout=10, data={
        "username": DEMO_USERS[0][0], "password": DEMO_PASSWORD, "csrf_token": _csrf(login.text)})
    code_page = browser.get(f"{deployment.url(0)}/login/code", timeout=10)
    done = browser.post(f"{deployment.url(0)}/login/code", timeout=10, allow_redirects=False, data={
        "code": pyotp.TOTP(DEMO_USERS[0][3]).now(), "csrf_token": _csrf(code_page.text)})
    assert done.status_code == 302, done.text[:500]

    inbox = browser.get(f"{deployment.url(1)}/inbox", timeout=10, allow_redirects=False)  # the other instance
    assert inbox.status_code == 200 and "Consultinbox" in inbox.text

    token = _token(app, deployment.url(1))
    tasks = requests.get(f"{deployment.url(0)}/fhir/Task", timeout=10, headers={"Authorization": f"Bearer {token}"})
    assert tasks.status_code == 200 and tasks.json()["resourceType"] == "Bundle"


def test_two_workers_deliver_every_notification_exactly_once(app: Flask, deployment: Deployment,
                                                            consult_request: dict[str, Any]) -> None:
    receiver = Receiver()
    try:
        tokens = [_token(app, deployment.url(i)) for i in range(2)]
        headers = [{"Authorization": f"Bearer {t}", "Content-Type": "application/fhir+json"} for t in tokens]
        created = requests.post(f"{deployment.url(0)}/fhir/Subscription", json=subscription(receiver.url),
                                headers=headers[0], timeout=10)
        assert created.status_code == 201, created.text
        for number in range(CONSULTS):  # alternately on each instance, as a load balancer would send them
            body = new_request(consult_request, performer=VISSER, authoredOn=datetime.now(UTC).isoformat())
            answer = requests.post(f"{deployment.url(number % 2)}/fhir/ServiceRequest", json=body,
                                   headers=headers[number % 2], timeout=30)
            assert answer.status_code == 201, answer.text

        with session_scope(app) as session:
            owed = int(session.scalar(select(func.count()).select_from(Notification)) or 0)
        assert owed >= CONSULTS
        deadline = time.monotonic() + 60
        while len(receiver.deliveries) < owed and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # time for a second delivery of anything, were it to happen

        numbers = [d.event_number for d in receiver.deliveries]
        assert len(numbers) == owed, deployment.logs()
        assert sorted(numbers) == list(range(1, owed + 1))  # each event once, none twice
    finally:
        receiver.stop()
