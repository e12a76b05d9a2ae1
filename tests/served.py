"""The service as it is deployed: `triage-service serve` (gunicorn with config/gunicorn.conf.py) on a
loopback port, on the test database, for tests that must see what gunicorn itself answers."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import make_url

from triage_service import clock
from triage_service.accounts.registration import client_assertion

ALL_SCOPES = ("system/ServiceRequest.write system/ServiceRequest.read system/Task.read system/Task.write "
              "system/Patient.write system/Patient.read system/Organization.write system/PractitionerRole.write "
              "system/Coverage.write system/Binary.write system/Binary.read system/DocumentReference.write "
              "system/DocumentReference.read system/Communication.write system/Communication.read "
              "system/Subscription.write system/Subscription.read system/Appointment.read system/Appointment.write")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """One `triage-service serve` process; ``log`` holds everything it wrote (access and error log)."""

    def __init__(self, app: Flask, log: Path, **env: str):
        settings = app.extensions["triage.settings"]
        database_url = settings.database_url
        if app.extensions["triage.engine"].dialect.name == "sqlite":
            # Its own copy of the SQLite file: a server process on the test process's file left it locked
            # for the next test's new connections ("database is locked" in PRAGMA journal_mode).
            copy = log.parent / "served.sqlite3"
            with sqlite3.connect(make_url(settings.sqlalchemy_url).database or "") as source, \
                    sqlite3.connect(copy) as target:
                source.backup(target)
            database_url = f"sqlite:///{copy}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {**os.environ, "TRIAGE_ENV": "test", "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
                    "TRIAGE_DATABASE_URL": database_url, "TRIAGE_PUBLIC_BASE_URL": "http://testserver",
                    "TRIAGE_RATE_LIMIT_TOKEN": "100000/minute", "TRIAGE_RATE_LIMIT_LOGIN": "100000/minute",
                    "TRIAGE_WORKERS": "1", **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "triage_service.cli", "serve", "--host", "127.0.0.1", "--port",
                   str(self.port)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=10).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet
                pass
            time.sleep(0.3)
        self.stop()
        raise AssertionError(f"the service did not start:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def logged(self, text: str, timeout: float = 10) -> bool:
        """Whether ``text`` appears in the log within ``timeout`` s: a line is written after its response."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def token(self, app: Flask, index: int = 0, scope: str = ALL_SCOPES) -> str:
        """A demo GP system's token, asked for the SMART way (the server keeps real time)."""
        demo = app.extensions["test.demo_clients"][index]
        assertion = client_assertion(demo.client_id, demo.key_file.read_bytes(), "http://testserver/oauth/token",
                                     clock.system_clock(), kid=demo.kid)
        response = requests.post(f"{self.url}/oauth/token", timeout=30, data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion, "scope": scope})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])
