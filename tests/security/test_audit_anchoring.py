"""Anchors are written without anyone remembering to: by `worker` in its loop and when it stops, and by `serve`
(gunicorn's arbiter runs a companion) on TRIAGE_AUDIT_ANCHOR_SECONDS and once more after its last request."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from flask import Flask

from tests.conftest import GPSystem, new_request
from triage_service import cli
from triage_service import clock as clock_module
from triage_service.audit.anchoring import Anchorer
from triage_service.audit.chain import head
from triage_service.database import session_scope


def _anchors(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


@pytest.fixture
def anchored_app(app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Flask:
    settings = dataclasses.replace(app.extensions["triage.settings"], audit_anchor_path=tmp_path / "anchors.log",
                                   audit_anchor_seconds=300)
    monkeypatch.setitem(app.extensions, "triage.settings", settings)
    monkeypatch.setattr(cli, "_app", lambda: app)
    return app


def _head(app: Flask) -> list[Any]:
    with session_scope(app) as session:
        current = head(session)
    assert current is not None
    return list(current)


def test_the_anchorer_writes_on_its_interval_and_only_when_the_head_moved(
        anchored_app: Flask, gp: GPSystem, consult_request: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    path = anchored_app.extensions["triage.settings"].audit_anchor_path
    elapsed = [1000.0]
    monkeypatch.setattr(clock_module, "monotonic", lambda: elapsed[0])
    gp.post("/fhir/ServiceRequest", new_request(consult_request))
    anchorer = Anchorer(anchored_app)

    assert anchorer.tick() is not None  # the first tick anchors at once
    gp.get("/fhir/Task")
    elapsed[0] += 299
    assert anchorer.tick() is None  # within the interval
    elapsed[0] += 1
    assert anchorer.tick() is not None
    elapsed[0] += 300
    assert anchorer.tick() is None  # the head has not moved: no line
    assert [a["head"] for a in _anchors(path)][-1] == _head(anchored_app)
    assert len(_anchors(path)) == 2


def test_the_worker_anchors_on_its_own_and_when_it_stops(anchored_app: Flask, gp: GPSystem,
                                                         consult_request: dict) -> None:
    gp.post("/fhir/ServiceRequest", new_request(consult_request))
    result = CliRunner().invoke(cli.main, ["worker", "--once"])

    assert result.exit_code == 0, result.output
    anchors = _anchors(anchored_app.extensions["triage.settings"].audit_anchor_path)
    assert anchors and anchors[-1]["head"] == _head(anchored_app)
    assert anchors[-1]["first"][0] == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`triage-service serve` as a deployment runs it, on its own SQLite database and instance folder."""

    def __init__(self, tmp: Path, anchor_seconds: int):
        self.anchors = tmp / "anchors.log"
        self.env = {**os.environ, "TRIAGE_ENV": "test", "TRIAGE_INSTANCE_PATH": str(tmp / "instance"),
                    "TRIAGE_DATABASE_URL": f"sqlite:///{tmp / 'serve.sqlite3'}", "TRIAGE_WORKERS": "1",
                    "TRIAGE_AUDIT_ANCHOR_PATH": str(self.anchors),
                    "TRIAGE_AUDIT_ANCHOR_SECONDS": str(anchor_seconds)}
        self.port = _free_port()
        self.log = tmp / "serve.log"
        command = [sys.executable, "-m", "triage_service.cli"]
        subprocess.run([*command, "init-db"], env=self.env, check=True, capture_output=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([*command, "serve", "--port", str(self.port)], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait(lambda: requests.get(f"{self.url}/health", timeout=5).status_code == 200, "start")

    def _wait(self, condition: Any, what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the server did not {what}: {self.log.read_text(errors='replace')[-3000:]}")

    def audited_request(self) -> None:
        """A refused token request: one audit entry (anonymous, failed)."""
        assert requests.post(f"{self.url}/oauth/token", data={"grant_type": "nonsense"}, timeout=10).status_code == 400

    def heads(self) -> list[int]:
        return [a["head"][0] for a in _anchors(self.anchors)]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


@pytest.fixture
def serve_factory(tmp_path: Path) -> Iterator[Any]:
    servers: list[Server] = []

    def start(anchor_seconds: int) -> Server:
        servers.append(Server(tmp_path, anchor_seconds))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def test_serve_anchors_on_its_interval_while_it_runs(serve_factory: Any) -> None:
    server = serve_factory(1)
    server.audited_request()
    server._wait(lambda: server.heads() and server.heads()[-1] >= 1, "anchor on its interval", 30)
    server.audited_request()
    server._wait(lambda: server.heads()[-1] >= 2, "anchor the next entry on its interval", 30)


def test_serve_anchors_once_more_when_it_stops(serve_factory: Any) -> None:
    server = serve_factory(3600)  # no interval anchor can come in between: only the one at shutdown
    for _ in range(3):
        server.audited_request()
    # The companion's first tick may fall after the first request (it starts beside the workers), but with a
    # one-hour interval it cannot have anchored the last entry yet: only the anchor at shutdown does.
    assert 3 not in server.heads()
    server.stop()

    assert server.heads()[-1:] == [3], server.log.read_text(errors="replace")[-3000:]
